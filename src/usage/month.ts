/** The calendar month (UTC) starting on `firstDay` ('YYYY-MM-DD'): [start, end), end exclusive. */
export function monthBounds(firstDay: string): { start: Date; end: Date } {
  const match = /^(\d{4})-(\d{2})-01$/.exec(firstDay);
  if (!match) throw new Error(`not the first day of a month: ${firstDay}`);
  const year = Number(match[1]);
  const monthIndex = Number(match[2]) - 1;
  return {
    start: new Date(Date.UTC(year, monthIndex, 1)),
    end: new Date(Date.UTC(year, monthIndex + 1, 1)),
  };
}
