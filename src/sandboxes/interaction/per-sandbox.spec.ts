import { PerSandbox } from 'src/sandboxes/interaction/per-sandbox';

describe('PerSandbox', () => {
  it('keeps handles per sandbox and ends only the dropped sandbox’s', () => {
    const ended: string[] = [];
    const handles = new PerSandbox<string>((h) => ended.push(h));
    handles.of('a').set('main', 'a/main');
    handles.of('a').set('bg', 'a/bg');
    handles.of('b').set('main', 'b/main');
    expect(handles.get('a', 'main')).toBe('a/main');
    expect(handles.get('c', 'main')).toBeUndefined();
    expect(handles.values('a')).toEqual(['a/main', 'a/bg']);

    handles.delete('a', 'bg');
    expect(handles.values('a')).toEqual(['a/main']);
    expect(ended).toEqual([]);

    handles.drop('a');
    expect(ended).toEqual(['a/main']);
    expect(handles.values('a')).toEqual([]);
    expect(handles.sandboxIds()).toEqual(['b']);
  });

  it('of() returns the same live map until the sandbox is dropped', () => {
    const handles = new PerSandbox<number>(() => undefined);
    const map = handles.of('a');
    expect(handles.of('a')).toBe(map);
    handles.drop('a');
    expect(handles.of('a')).not.toBe(map);
  });
});
