import { clip, toGptActionsDocument } from 'src/http/gpt-actions';

describe('GPT Actions document', () => {
  const full = {
    openapi: '3.0.0',
    info: { title: 'OrcaOps API', version: '1' },
    paths: {
      '/v1/jobs/{jobId}': {
        get: {
          operationId: 'getJob',
          summary: 'A job',
          description: 'x'.repeat(400),
          parameters: [
            { name: 'jobId', in: 'path', required: true, schema: { type: 'string' } },
            { name: 'Idempotency-Key', in: 'header', schema: { type: 'string' } },
            { name: 'follow', in: 'query', schema: { type: 'string' } },
          ],
          responses: { '200': { content: { 'application/json': { schema: { $ref: '#/components/schemas/Job' } }, 'text/event-stream': {} } } },
        },
        delete: { operationId: 'deleteJob', summary: 'Not for assistants', responses: {} },
      },
    },
    components: {
      schemas: {
        Job: { type: 'object', properties: { reason: { type: 'string', nullable: true }, step: { $ref: '#/components/schemas/Step' } } },
        Step: { type: 'object', properties: { exit_code: { nullable: true, allOf: [{ $ref: '#/components/schemas/Code' }] } } },
        Code: { type: 'number' },
        Unused: { type: 'object' },
      },
    },
  };

  it('keeps the listed operations, clipped, JSON only, without header or streaming parameters', () => {
    const doc = toGptActionsDocument(full, 'https://o.example.com/') as any;
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.servers).toEqual([{ url: 'https://o.example.com' }]);
    const op = doc.paths['/v1/jobs/{jobId}'];
    expect(Object.keys(op)).toEqual(['get']);
    expect(op.get.description.length).toBe(300);
    expect(op.get.parameters.map((p: { name: string }) => p.name)).toEqual(['jobId']);
    expect(Object.keys(op.get.responses['200'].content)).toEqual(['application/json']);
    expect(op.get['x-openai-isConsequential']).toBe(false);
  });

  it('turns nullable into 3.1 unions and keeps only reachable schemas', () => {
    const doc = toGptActionsDocument(full, 'https://o.example.com') as any;
    expect(Object.keys(doc.components.schemas)).toEqual(['Code', 'Job', 'Step']);
    expect(doc.components.schemas.Job.properties.reason).toEqual({ type: ['string', 'null'] });
    expect(doc.components.schemas.Step.properties.exit_code).toEqual({ oneOf: [{ allOf: [{ $ref: '#/components/schemas/Code' }] }, { type: 'null' }] });
  });

  it('clips on whitespace-normalised text', () => {
    expect(clip('a  b\n c', 10)).toBe('a b c');
    expect(clip('abcdefghijk', 5)).toBe('abcd…');
  });
});
