import { BackupError } from '../errors';

export type Period = 'day' | 'week' | 'month' | 'year';

export type CalendarKeys = Record<Period, string>;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
	let formatter = formatters.get(timeZone);
	if (!formatter) {
		try {
			formatter = new Intl.DateTimeFormat('en-US', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
		} catch {
			throw new BackupError(
				'INVALID_INPUT',
				`Time zone "${timeZone}" is not known`,
				'Use an IANA time zone name such as "America/Sao_Paulo" or "UTC" (the workflow time zone is used when the field is empty).',
			);
		}
		formatters.set(timeZone, formatter);
	}
	return formatter;
}

/** Throws INVALID_INPUT for a time zone Intl does not know. */
export const checkTimeZone = (timeZone: string) => void formatterFor(timeZone);

/**
 * The calendar day, ISO week, month and year a moment falls in, in `timeZone`: a backup taken
 * at 23:30 in São Paulo belongs to that day there, not to the next UTC day.
 */
export function calendarKeys(at: Date, timeZone: string): CalendarKeys {
	const parts = formatterFor(timeZone).formatToParts(at);
	const part = (type: string) => Number(parts.find((p) => p.type === type)?.value);
	const year = part('year');
	const month = part('month');
	const day = part('day');
	const pad = (n: number) => String(n).padStart(2, '0');
	return {
		day: `${year}-${pad(month)}-${pad(day)}`,
		week: isoWeek(year, month, day),
		month: `${year}-${pad(month)}`,
		year: String(year),
	};
}

/** ISO-8601 week ("2026-W48"): weeks start on Monday, week 1 holds the year's first Thursday. */
function isoWeek(year: number, month: number, day: number): string {
	const date = new Date(Date.UTC(year, month - 1, day));
	const weekday = date.getUTCDay() || 7;
	date.setUTCDate(date.getUTCDate() + 4 - weekday); // the Thursday of this week
	const weekYear = date.getUTCFullYear();
	const week = Math.ceil(((date.getTime() - Date.UTC(weekYear, 0, 1)) / 86_400_000 + 1) / 7);
	return `${weekYear}-W${String(week).padStart(2, '0')}`;
}
