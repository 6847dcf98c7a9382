import { toJson, toJsonLine } from './json';
import { renderTable } from './table';

describe('renderTable', () => {
  it('aligns columns with two spaces, no borders, no trailing blanks', () => {
    const text = renderTable(['ID', 'NAME', 'N'], [
      [1, 'alpha', 3],
      [200, 'b', 40],
    ]);
    expect(text).toBe(['ID   NAME   N', '1    alpha  3', '200  b      40', ''].join('\n'));
  });

  it('prints the head alone for no rows', () => {
    expect(renderTable(['A', 'B'], [])).toBe('A  B\n');
  });
});

describe('json output', () => {
  it('indents whole results and keeps stream lines on one line', () => {
    expect(toJson([{ a: 1 }])).toBe('[\n  {\n    "a": 1\n  }\n]\n');
    expect(toJsonLine({ a: 1, b: [2] })).toBe('{"a":1,"b":[2]}\n');
  });
});
