import { parseDocument } from 'yaml';
import { jsonTextDepth, jsonValueDepth, yamlDocumentProblem, yamlTextProblem } from 'src/common/input-limits';

describe('input limits', () => {
  it('should measure JSON text depth outside strings, stopping past the limit', () => {
    expect(jsonTextDepth('{"a":[1,{"b":"[[[[\\"[["}]}')).toBe(3);
    expect(jsonTextDepth('['.repeat(1_000_000), 32)).toBe(33);
    expect(jsonValueDepth({ a: [1, { b: [] }] })).toBe(4);
  });

  it('should accept ordinary YAML with a few aliases', () => {
    const doc = parseDocument('base: &b {image: x}\na: *b\nb: *b\nlist: [1, [2, [3]]]\n');
    expect(yamlTextProblem('list: [1, [2, [3]]]')).toBeUndefined();
    expect(yamlDocumentProblem(doc)).toBeUndefined();
  });

  it('should refuse too many aliases, too many expanded nodes and a self-referencing anchor without hanging', () => {
    const many = parseDocument(`a: &a x\nl: [${Array(101).fill('*a').join(', ')}]`);
    expect(yamlDocumentProblem(many)).toMatch(/more than 100 aliases/);
    let lol = 'x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n';
    for (let i = 1; i < 6; i++) lol += `x${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]\n`;
    expect(yamlDocumentProblem(parseDocument(lol))).toMatch(/more than 100000 nodes/);
    expect(yamlDocumentProblem(parseDocument('a: &a [1, *a]\n'))).toBeUndefined();
  });
});
