/**
 * The Prometheus text exposition (core/monitor/prometheus.ts) against the format's rules
 * (prometheus.io "Exposition formats", text format 0.0.4): a checker written from those rules
 * parses every line back, so an escaping or grouping mistake fails here.
 */
import {
	evaluateMonitor,
	escapeLabelValue,
	formatValue,
	renderPrometheus,
	type EnvironmentResult,
} from '../../../core/monitor';
import { DAY, HOUR, NOW, ago, destination, env, healthy, restoreTest, set } from './readings';

interface Sample {
	name: string;
	labels: Record<string, string>;
	value: number;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Parses exposition text strictly; throws naming the line that breaks a rule. */
function parseExposition(text: string): { samples: Sample[]; help: Map<string, string>; types: Map<string, string> } {
	if (!text.endsWith('\n')) throw new Error('the text must end with a line feed');
	const help = new Map<string, string>();
	const types = new Map<string, string>();
	const samples: Sample[] = [];
	const closed = new Set<string>();
	const seenSeries = new Set<string>();
	let current: string | undefined;
	const open = (name: string, line: string) => {
		if (name !== current) {
			if (closed.has(name)) throw new Error(`family ${name} is not contiguous: ${line}`);
			if (current) closed.add(current);
			current = name;
		}
	};
	for (const line of text.slice(0, -1).split('\n')) {
		if (line === '') throw new Error('empty line');
		if (line.includes('\r')) throw new Error('carriage return');
		let match = /^# HELP (\S+) (.*)$/.exec(line);
		if (match) {
			const [, name, doc] = match;
			if (!METRIC_NAME.test(name)) throw new Error(`bad metric name in HELP: ${line}`);
			if (help.has(name)) throw new Error(`second HELP for ${name}`);
			if (/\\(?![\\n])/.test(doc)) throw new Error(`bad escape in HELP: ${line}`);
			open(name, line);
			if (samples.some((s) => s.name === name)) throw new Error(`HELP after samples of ${name}`);
			help.set(name, doc.replace(/\\n/g, '\n').replace(/\\\\/g, '\\'));
			continue;
		}
		match = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
		if (match) {
			const [, name, type] = match;
			if (types.has(name)) throw new Error(`second TYPE for ${name}`);
			open(name, line);
			if (samples.some((s) => s.name === name)) throw new Error(`TYPE after samples of ${name}`);
			types.set(name, type);
			continue;
		}
		if (line.startsWith('#')) throw new Error(`unexpected comment: ${line}`);
		match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
		if (!match) throw new Error(`not a sample line: ${line}`);
		const [, name, labelText, valueText] = match;
		open(name, line);
		const labels: Record<string, string> = {};
		let rest = labelText ?? '';
		while (rest.length) {
			const label = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\\\|\\"|\\n)*)"(,|$)/.exec(rest);
			if (!label) throw new Error(`bad label set in: ${line}`);
			const [all, labelName, raw] = label;
			if (!LABEL_NAME.test(labelName) || labelName.startsWith('__')) throw new Error(`bad label name ${labelName}`);
			if (labelName in labels) throw new Error(`label ${labelName} twice in: ${line}`);
			labels[labelName] = raw.replace(/\\(\\|"|n)/g, (_m, c: string) => (c === 'n' ? '\n' : c));
			rest = rest.slice(all.length);
			if (all.endsWith(',') && !rest.length) throw new Error(`trailing comma in: ${line}`);
		}
		if (!/^([+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?|[+-]Inf|NaN)$/.test(valueText))
			throw new Error(`bad value in: ${line}`);
		const value = valueText === '+Inf' ? Infinity : valueText === '-Inf' ? -Infinity : Number(valueText);
		const series = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
		if (seenSeries.has(series)) throw new Error(`duplicate series: ${line}`);
		seenSeries.add(series);
		samples.push({ name, labels, value });
	}
	for (const name of new Set(samples.map((s) => s.name)))
		if (!help.has(name) || !types.has(name)) throw new Error(`${name} has samples without HELP and TYPE`);
	return { samples, help, types };
}

const sample = (samples: Sample[], name: string, labels: Record<string, string>) =>
	samples.find((s) => s.name === name && JSON.stringify(s.labels) === JSON.stringify(labels))?.value;

function results(): EnvironmentResult[] {
	const full = set('full', ago(2 * HOUR), { bytes: 123456 });
	const prod = env({ sets: [full], restoreTests: [restoreTest(full.backupId, ago(DAY), true, 90_000)] });
	const homolog = { ...env({ environment: 'homolog', sets: [set('full', ago(30 * HOUR))] }) };
	homolog.sets[0] = { ...homolog.sets[0], backupId: homolog.sets[0].backupId.replace('prod', 'homolog') };
	return evaluateMonitor({
		now: NOW,
		destinations: [
			destination('sftp://backup@10.0.0.5:22/totvs', [prod, homolog]),
			destination('ftp://b', [], 'refused'),
		],
		thresholds: { minCopies: 1 },
	});
}

describe('Prometheus text exposition', () => {
	it('parses back under the format rules, every family with HELP and TYPE gauge', () => {
		const text = renderPrometheus(results());
		const parsed = parseExposition(text);
		expect([...parsed.types.values()].every((t) => t === 'gauge')).toBe(true);
		expect([...parsed.types.keys()]).toEqual(
			expect.arrayContaining([
				'totvs_backup_status',
				'totvs_backup_newest_set_age_seconds',
				'totvs_backup_last_restore_test_age_seconds',
				'totvs_backup_copies',
				'totvs_backup_destination_up',
			]),
		);
	});

	it('has the figures: status, ages per engine and type, copies, restore test, destinations', () => {
		const { samples } = parseExposition(renderPrometheus(results()));
		expect(sample(samples, 'totvs_backup_status', { environment: 'prod' })).toBe(2); // ftp://b unreachable
		expect(sample(samples, 'totvs_backup_reasons', { environment: 'prod', severity: 'critical' })).toBe(1);
		const labels = { environment: 'prod', engine: 'postgres', type: 'full' };
		expect(sample(samples, 'totvs_backup_newest_set_age_seconds', labels)).toBe(7200);
		expect(sample(samples, 'totvs_backup_newest_set_timestamp_seconds', labels)).toBe(NOW.getTime() / 1000 - 7200);
		expect(sample(samples, 'totvs_backup_newest_set_bytes', labels)).toBe(123456);
		expect(sample(samples, 'totvs_backup_copies', labels)).toBe(1);
		expect(sample(samples, 'totvs_backup_required_copies', { environment: 'prod' })).toBe(1);
		expect(sample(samples, 'totvs_backup_chain_length', { environment: 'prod', engine: 'postgres' })).toBe(1);
		expect(sample(samples, 'totvs_backup_last_restore_test_age_seconds', { environment: 'prod' })).toBe(86400);
		expect(sample(samples, 'totvs_backup_last_restore_test_passed', { environment: 'prod' })).toBe(1);
		expect(sample(samples, 'totvs_backup_restore_test_rto_seconds', { environment: 'prod' })).toBe(90);
		expect(sample(samples, 'totvs_backup_destination_up', { destination: 'sftp://backup@10.0.0.5:22/totvs' })).toBe(1);
		expect(sample(samples, 'totvs_backup_destination_up', { destination: 'ftp://b' })).toBe(0);
	});

	it('never restore-tested is +Inf, and no "passed" sample is invented', () => {
		const text = renderPrometheus(results());
		expect(text).toContain('totvs_backup_last_restore_test_age_seconds{environment="homolog"} +Inf\n');
		const { samples } = parseExposition(text);
		expect(sample(samples, 'totvs_backup_last_restore_test_passed', { environment: 'homolog' })).toBeUndefined();
	});

	it('escapes label values: backslash, double quote, line feed', () => {
		expect(escapeLabelValue('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd');
		const [result] = evaluateMonitor({
			now: NOW,
			destinations: [destination('C:\\share "off-site"\nsecond line', [healthy()])],
		});
		const text = renderPrometheus([result]);
		expect(text).toContain('{destination="C:\\\\share \\"off-site\\"\\nsecond line"} 1\n');
		const { samples } = parseExposition(text);
		expect(samples.find((s) => s.name === 'totvs_backup_destination_up')?.labels.destination).toBe(
			'C:\\share "off-site"\nsecond line',
		);
	});

	it('the checker itself rejects what the format forbids', () => {
		const good = '# HELP x_y a\n# TYPE x_y gauge\nx_y{a="1"} 1\n';
		expect(() => parseExposition(good)).not.toThrow();
		expect(() => parseExposition(good.slice(0, -1))).toThrow(/line feed/);
		expect(() => parseExposition(good.replace('a="1"', 'a="1\\q"'))).toThrow(/bad label set/);
		expect(() => parseExposition(good.replace('a="1"', 'a="1"2"'))).toThrow(/bad label set/);
		expect(() => parseExposition(good + 'x_y{a="1"} 2\n')).toThrow(/duplicate series/);
		expect(() => parseExposition(good + '# HELP z a\n# TYPE z gauge\nz 1\nx_y{a="2"} 1\n')).toThrow(/not contiguous/);
		expect(() => parseExposition('x 1\n')).toThrow(/without HELP and TYPE/);
		expect(() => parseExposition(good.replace('} 1', '} one'))).toThrow(/bad value/);
	});

	it('formats special values as the format spells them', () => {
		expect([Infinity, -Infinity, Number.NaN, 0.5, 12].map(formatValue)).toEqual(['+Inf', '-Inf', 'NaN', '0.5', '12']);
	});

	it("the '*' result of an empty destination renders too", () => {
		const [result] = evaluateMonitor({ now: NOW, destinations: [destination('a', [])] });
		const { samples } = parseExposition(renderPrometheus([result]));
		expect(sample(samples, 'totvs_backup_status', { environment: '*' })).toBe(2);
	});
});
