import { progressLines } from 'src/registries/image-puller.service';

describe('pull progress lines', () => {
  it('says (done) only on the pull’s last word, not when the first layer seen is already present', () => {
    const lines: string[] = [];
    const onProgress = progressLines('reg.test/app:v1', (line) => lines.push(line));
    // The engine names layers as it reaches them: the first, already present, is "1/1 done" for a moment.
    onProgress({ layers: 1, layersDone: 1, downloadedBytes: 0, totalBytes: 0 });
    onProgress({ layers: 3, layersDone: 1, downloadedBytes: 1 << 20, totalBytes: 4 << 20 });
    onProgress({ layers: 3, layersDone: 3, downloadedBytes: 4 << 20, totalBytes: 4 << 20, complete: true });
    expect(lines).toEqual(['pulling reg.test/app:v1: 1/1 layers', 'pulling reg.test/app:v1: 3/3 layers, 4/4 MiB (done)']);
  });
});
