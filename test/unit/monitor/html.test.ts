/**
 * The status page (core/monitor/html.ts): self-contained (no script, no external URL, no
 * stylesheet or image to fetch), well nested, escaped, in English and Portuguese, with the
 * inline SVG charts of size and RTO.
 */
import { evaluateMonitor, renderStatusPage, sparkline, type EnvironmentResult } from '../../../core/monitor';
import { DAY, HOUR, NOW, ago, destination, env, restoreTest, set } from './readings';

const MIN = 60_000;

function history(): EnvironmentResult[] {
	const fulls = [900, 1000, 1100, 1200].map((bytes, i) => set('full', ago((4 - i) * DAY - DAY + 2 * HOUR), { bytes }));
	const tests = [12, 11, 13].map((m, i) =>
		restoreTest(fulls[i + 1].backupId, ago((3 - i) * DAY - DAY + HOUR), true, m * MIN),
	);
	const prod = env({ sets: fulls, restoreTests: tests.reverse() });
	const hostile = env({
		environment: 'dev',
		invalid: [{ backupId: '<script>alert(1)</script>', reason: '"><img src=x onerror=alert(1)>' }],
	});
	return evaluateMonitor({ now: NOW, destinations: [destination('sftp://a/<b>', [prod, hostile])] });
}

/** Every element opened is closed, in order (void elements excepted). */
function checkNesting(html: string) {
	const VOID = new Set(['meta', 'br', 'circle', 'polyline', 'img', 'link']);
	const stack: string[] = [];
	for (const match of html.matchAll(/<(\/?)([a-zA-Z]+)[^>]*?(\/?)>/g)) {
		const [, closing, rawName, selfClosing] = match;
		const name = rawName.toLowerCase();
		if (selfClosing || VOID.has(name)) continue;
		if (!closing) stack.push(name);
		else {
			const open = stack.pop();
			if (open !== name) throw new Error(`</${name}> closes <${open}>`);
		}
	}
	if (stack.length) throw new Error(`unclosed: ${stack.join(', ')}`);
}

describe('status page', () => {
	const [dev, prod] = history();
	const html = renderStatusPage([prod, dev], 'en', NOW);

	it('has no external asset and no script', () => {
		expect(html).not.toMatch(/https?:|<script|<link|<img|<iframe|<object|<embed|\ssrc=|\shref=|url\(|@import/i);
		expect(html).not.toMatch(/\son[a-z]+=/i); // no event handler attribute
	});

	it('is well nested, with one row per environment', () => {
		expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
		expect(() => checkNesting(html)).not.toThrow();
		expect(html.match(/<tr>/g)).toHaveLength(3); // header + 2 environments
		expect(html).toContain('<html lang="en">');
		expect(html).toContain('<meta charset="utf-8">');
	});

	it('escapes what comes from destinations', () => {
		expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
		expect(html).toContain('sftp://a/&lt;b&gt;');
		expect(html).not.toContain('<script>');
		expect(html).not.toContain('<b>"');
	});

	it('draws the size and RTO charts as inline SVG, one point per sample', () => {
		const svgs: string[] = html.match(/<svg [^>]*>.*?<\/svg>/g) ?? [];
		expect(svgs).toHaveLength(2);
		expect(svgs[0].match(/<circle/g)).toHaveLength(4); // four fulls
		expect(svgs[1].match(/<circle/g)).toHaveLength(3); // three passed tests
		expect(svgs[1]).toContain('<title>');
	});

	it('names the worst status in the title', () => {
		expect(html).toMatch(/<title>TOTVS backup status: CRITICAL<\/title>/);
		expect(html).toContain('OK');
	});

	it('is in Portuguese when asked', () => {
		const pt = renderStatusPage([prod, dev], 'pt-BR', NOW);
		expect(pt).toContain('<html lang="pt-BR">');
		expect(pt).toContain('Situação dos backups TOTVS: CRÍTICO');
		expect(pt).toContain('Nunca houve backup');
		expect(pt).toContain('Tempo de recuperação (RTO)');
		expect(() => checkNesting(pt)).not.toThrow();
	});

	it('the checker catches bad nesting', () => {
		expect(() => checkNesting('<table><tr><td></tr></table>')).toThrow();
	});
});

describe('sparkline', () => {
	it('one sample, or equal samples, draw without NaN', () => {
		expect(sparkline([{ label: 'a', value: 5 }], String)).toMatch(/<circle cx="80.0" cy="20.0"/);
		const flat = sparkline(
			[
				{ label: 'a', value: 5 },
				{ label: 'b', value: 5 },
			],
			String,
		);
		expect(flat).not.toContain('NaN');
		expect(flat).toContain('<polyline');
	});

	it('the newest point is marked bigger, the highest value is at the top', () => {
		const svg = sparkline(
			[
				{ label: 'a', value: 1 },
				{ label: 'b', value: 3 },
			],
			String,
		);
		expect(svg).toMatch(/<circle cx="4.0" cy="36.0" r="2"/);
		expect(svg).toMatch(/<circle cx="156.0" cy="4.0" r="3"/);
	});

	it('nothing to draw: empty', () => {
		expect(sparkline([], String)).toBe('');
	});
});
