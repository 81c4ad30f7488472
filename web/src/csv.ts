/** CSV export (RFC 4180): quoted fields, CRLF lines, saved through a download link. */

export function csvText(header: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const quote = (value: unknown) => `"${String(value ?? '').replace(/"/g, '""')}"`;
  return (
    [header.map(quote).join(','), ...rows.map((row) => row.map(quote).join(','))].join('\r\n') +
    '\r\n'
  );
}

export function download(name: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/csv' }));
  const link = Object.assign(document.createElement('a'), { href: url, download: name });
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
