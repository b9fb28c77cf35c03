/** 1536 -> "1.5 KiB": sizes in logs and summaries. */
export function formatBytes(bytes: number): string {
	const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
	let value = bytes;
	let unit = 0;
	while (value >= 1024 && unit < units.length - 1) {
		value /= 1024;
		unit++;
	}
	return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

/**
 * 83_000 -> "1 min 23 s". Under a second, "less than 1 s" ("menos de 1 s"): a quick step never
 * reads "in 0 s".
 */
export function formatDuration(ms: number, language: 'en' | 'pt-BR' = 'en'): string {
	if (ms < 1000) return language === 'pt-BR' ? 'menos de 1 s' : 'less than 1 s';
	const seconds = Math.floor(ms / 1000);
	if (seconds < 60) return `${seconds} s`;
	const minutes = Math.floor(seconds / 60);
	if (minutes < 60) return `${minutes} min ${seconds % 60} s`;
	return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/**
 * A counted noun: 1 -> "1 set", 0 or 2 -> "2 sets" (in English and Portuguese alike, 1 alone is
 * singular). `plural` for words that do not just add an s ("verificação" -> "verificações");
 * `shown` is the number as the caller formatted it (thousands separators).
 */
export function countOf(n: number, singular: string, plural = `${singular}s`, shown = String(n)): string {
	return `${shown} ${n === 1 ? singular : plural}`;
}
