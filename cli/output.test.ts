import { describe, expect, it } from 'vitest';
import { formatFields, formatJson, formatTable, formatTime, parseOutputFormat, stateColor, type Column } from './output';

type Row = { id: string; name: string; state: string; vcpus: number; tag: string | null };
const rows: Row[] = [
  { id: 'i-1', name: 'web', state: 'running', vcpus: 2, tag: null },
  { id: 'i-22', name: 'database server', state: 'stopped', vcpus: 16, tag: 'a\tb\nc' },
];
const columns: Column<Row>[] = [
  { header: 'ID', value: (r) => r.id },
  { header: 'NAME', value: (r) => r.name },
  { header: 'VCPUS', value: (r) => r.vcpus, align: 'right' },
  { header: 'STATE', value: (r) => r.state, color: (r) => stateColor(r.state) },
  { header: 'TAG', value: (r) => r.tag },
];

describe('tables', () => {
  it('are aligned plain-text columns under a header row, two spaces apart, no trailing blanks', () => {
    expect(formatTable(rows, columns)).toBe(
      [
        'ID    NAME             VCPUS  STATE    TAG',
        'i-1   web                  2  running  -',
        'i-22  database server     16  stopped  a b c',
        '',
      ].join('\n'),
    );
  });

  it('print the header row even with no rows', () => {
    expect(formatTable([], columns)).toBe('ID  NAME  VCPUS  STATE  TAG\n');
  });

  it('colour only when asked, and keep the columns aligned when they do', () => {
    expect(formatTable(rows, columns)).not.toContain('\x1b');
    const coloured = formatTable(rows, columns, { color: true });
    expect(coloured).toContain('\x1b[32mrunning\x1b[0m');
    expect(coloured.replace(/\x1b\[[0-9;]*m/g, '')).toBe(formatTable(rows, columns));
  });
});

describe('records and JSON', () => {
  it('lists fields as label and value', () => {
    expect(formatFields([['ID', 'i-1'], ['Key pair', null], ['vCPUs', 2]])).toBe('ID        i-1\nKey pair  -\nvCPUs     2\n');
  });

  it('writes stable JSON with ISO dates', () => {
    expect(formatJson({ id: 'i-1', createdAt: new Date('2026-01-31T12:00:00.123Z'), tags: {} })).toBe(
      '{\n  "id": "i-1",\n  "createdAt": "2026-01-31T12:00:00.123Z",\n  "tags": {}\n}\n',
    );
  });

  it('shows times to the second in UTC', () => {
    expect(formatTime(new Date('2026-01-31T12:00:00.999Z'))).toBe('2026-01-31 12:00:00Z');
    expect(formatTime(null)).toBe('-');
    expect(formatTime('not a date')).toBe('-');
  });

  it('takes json or table as --output', () => {
    expect(parseOutputFormat('JSON')).toBe('json');
    expect(parseOutputFormat('table')).toBe('table');
    expect(() => parseOutputFormat('yaml')).toThrow('Choose json or table (got “yaml”).');
  });
});
