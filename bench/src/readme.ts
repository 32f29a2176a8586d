/** Puts the latest benchmark table into README.md between its markers. Pure. */

export const BEGIN = '<!-- bench:results:begin -->';
export const END = '<!-- bench:results:end -->';

/** The README with the text between the markers replaced; unchanged if the markers are missing. */
export function updateReadme(readme: string, table: string): string {
  const begin = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  if (begin < 0 || end < begin) return readme;
  return `${readme.slice(0, begin + BEGIN.length)}\n${table.trimEnd()}\n${readme.slice(end)}`;
}
