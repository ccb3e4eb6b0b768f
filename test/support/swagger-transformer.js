// ts-jest wants name/version/factory; the Nest Swagger plugin exports before(). Same options as nest-cli.json,
// so the OpenAPI document under test is the one the built server serves.
const plugin = require('@nestjs/swagger/plugin');

module.exports = {
  name: 'nestjs-swagger-plugin',
  version: 1,
  factory: (tsCompiler) =>
    plugin.before(
      { classValidatorShim: true, introspectComments: true, dtoFileNameSuffix: ['.dto.ts'] },
      tsCompiler.program,
    ),
};
