/**
 * The ILIKE pattern that finds `text` in job output through the trigram index on
 * `encode(data, 'escape')` (migration RunRecords). PostgreSQL's escape encoding keeps bytes 1–127 as
 * they are, doubles backslashes and writes NUL and bytes ≥ 0x80 as \ooo; the search text is encoded
 * the same way (UTF-8), so non-ASCII text matches byte for byte (ASCII letters case-insensitively).
 * Then LIKE's own specials (\ % _) are escaped and the whole wrapped in %…%.
 */
export function logSearchPattern(text: string): string {
  let encoded = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    if (byte === 0x5c) encoded += '\\\\';
    else if (byte === 0 || byte >= 0x80) encoded += `\\${byte.toString(8).padStart(3, '0')}`;
    else encoded += String.fromCharCode(byte);
  }
  return `%${encoded.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** image:orcaops/python* → a LIKE pattern (* is the only wildcard; % and _ are literal). */
export function imageLikePattern(glob: string): string {
  return glob.replace(/[\\%_]/g, (c) => `\\${c}`).replace(/\*/g, '%');
}
