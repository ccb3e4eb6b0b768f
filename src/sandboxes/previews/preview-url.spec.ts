import { splitPreviewUrl } from 'src/sandboxes/previews/preview-url';

describe('splitPreviewUrl', () => {
  it('should keep the rest of the path and the query for the sandbox', () => {
    expect(splitPreviewUrl('/v1/previews/tok/a/b.css?x=1', 3)).toEqual({ prefix: '/v1/previews/tok', path: '/a/b.css?x=1' });
    expect(splitPreviewUrl('/v1/sandboxes/s/ports/80/', 5)).toEqual({ prefix: '/v1/sandboxes/s/ports/80', path: '/' });
  });

  it('should answer / when the URL stops at the prefix, with or without a query', () => {
    expect(splitPreviewUrl('/v1/previews/tok', 3)).toEqual({ prefix: '/v1/previews/tok', path: '/' });
    expect(splitPreviewUrl('/v1/previews/tok?q=1', 3)).toEqual({ prefix: '/v1/previews/tok', path: '/?q=1' });
  });
});
