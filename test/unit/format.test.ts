/** core/format.ts: sizes, durations and counted nouns as summaries and checks show them (issue 16). */
import { countOf, formatBytes, formatDuration } from '../../core/format';

describe('formatDuration', () => {
	it.each([
		[0, 'less than 1 s'],
		[420, 'less than 1 s'],
		[999, 'less than 1 s'],
		[1_000, '1 s'],
		[1_499, '1 s'],
		[83_000, '1 min 23 s'],
		[3_720_000, '1 h 2 min'],
	])('%i ms -> "%s"', (ms, expected) => {
		expect(formatDuration(ms)).toBe(expected);
	});

	it('says "menos de 1 s" in Portuguese; longer durations read the same in both', () => {
		expect(formatDuration(300, 'pt-BR')).toBe('menos de 1 s');
		expect(formatDuration(83_000, 'pt-BR')).toBe('1 min 23 s');
	});
});

describe('countOf', () => {
	it.each([
		[0, 'set', undefined, '0 sets'],
		[1, 'set', undefined, '1 set'],
		[2, 'set', undefined, '2 sets'],
		[1, 'verificação', 'verificações', '1 verificação'],
		[3, 'verificação', 'verificações', '3 verificações'],
	])('%i %s', (n, singular, plural, expected) => {
		expect(countOf(n, singular, plural)).toBe(expected);
	});

	it('shows the number as the caller formatted it', () => {
		expect(countOf(12345, 'linha', undefined, '12.345')).toBe('12.345 linhas');
	});
});

describe('formatBytes', () => {
	it('keeps its units', () => {
		expect(formatBytes(1536)).toBe('1.5 KiB');
	});
});
