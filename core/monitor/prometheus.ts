/**
 * The Monitor's figures in Prometheus' text exposition format (version 0.0.4): one family per
 * metric, each with one HELP and one TYPE line before its samples, label values escaped
 * (backslash, double quote, line feed), one sample per label set, a line feed after every line.
 * All are gauges. Served by the metrics example (Webhook → TOTVS Monitor → Respond to Webhook).
 *
 * Ages are also given as timestamps: Prometheus computes ages at query time from those
 * (`time() - totvs_backup_newest_set_timestamp_seconds`), so a cached scrape does not lie.
 * An environment never restore-tested has `totvs_backup_last_restore_test_age_seconds` +Inf,
 * so an alert rule "older than N" fires without a separate absent() rule.
 */
import type { EnvironmentResult, MonitorStatus } from './types';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const STATUS_VALUE: Record<MonitorStatus, number> = { ok: 0, warning: 1, critical: 2 };

type Labels = Record<string, string>;

interface Family {
	name: string;
	help: string;
	samples: Array<{ labels: Labels; value: number }>;
}

/** `\` → `\\`, `"` → `\"`, line feed → `\n` (the exposition format's label value escapes). */
export const escapeLabelValue = (value: string) =>
	value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/** HELP text escapes only backslash and line feed. */
const escapeHelp = (text: string) => text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

export function formatValue(value: number): string {
	if (Number.isNaN(value)) return 'NaN';
	if (value === Infinity) return '+Inf';
	if (value === -Infinity) return '-Inf';
	return String(value);
}

const seconds = (iso: string) => Date.parse(iso) / 1000;

/** Renders every environment's figures; the destinations' reachability once per destination. */
export function renderPrometheus(results: EnvironmentResult[]): string {
	const family = (name: string, help: string): Family => ({ name, help, samples: [] });
	const f = {
		status: family('totvs_backup_status', 'TOTVS Monitor status per environment: 0 ok, 1 warning, 2 critical.'),
		reasons: family('totvs_backup_reasons', 'Reasons for the status, by severity.'),
		age: family(
			'totvs_backup_newest_set_age_seconds',
			'Age of the newest good (complete, chain intact) backup set per engine and type, from its start.',
		),
		timestamp: family(
			'totvs_backup_newest_set_timestamp_seconds',
			'Start time (Unix seconds) of the newest good backup set per engine and type.',
		),
		bytes: family('totvs_backup_newest_set_bytes', 'Size in bytes of the newest good backup set per engine and type.'),
		copies: family(
			'totvs_backup_copies',
			'Destinations holding a good copy of the newest backup set per engine and type (3-2-1 rule).',
		),
		required: family('totvs_backup_required_copies', 'Copies the monitor asks for (minimum copies setting).'),
		chain: family(
			'totvs_backup_chain_length',
			'Sets needed to restore the newest good set per engine (itself and its chain back to the full).',
		),
		complete: family('totvs_backup_complete_sets', 'Complete backup sets, every destination together.'),
		unfinished: family('totvs_backup_unfinished_sets', 'Unfinished uploads (folders of ours without manifest).'),
		invalid: family('totvs_backup_invalid_sets', 'Set folders whose manifest is invalid.'),
		damaged: family('totvs_backup_damaged_sets', 'Sets with artifacts missing or of the wrong size, per destination.'),
		staleLocks: family('totvs_backup_stale_locks', 'Environment locks not renewed within their stale period.'),
		testAge: family(
			'totvs_backup_last_restore_test_age_seconds',
			'Age of the newest passed restore test; +Inf when none ever passed.',
		),
		testTimestamp: family(
			'totvs_backup_last_restore_test_timestamp_seconds',
			'Finish time (Unix seconds) of the newest passed restore test.',
		),
		testPassed: family('totvs_backup_last_restore_test_passed', 'Result of the last restore test: 1 passed, 0 failed.'),
		rto: family(
			'totvs_backup_restore_test_rto_seconds',
			'Recovery time (fetch, restore and checks) of the newest passed restore test.',
		),
		tests: family('totvs_backup_restore_tests', 'Restore-test records found.'),
		up: family('totvs_backup_destination_up', 'Whether the destination could be read: 1 yes, 0 no.'),
	};
	const up = new Map<string, number>();
	for (const r of results) {
		const env = { environment: r.environment };
		const fig = r.figures;
		f.status.samples.push({ labels: env, value: STATUS_VALUE[r.status] });
		for (const severity of ['critical', 'warning'] as const)
			f.reasons.samples.push({
				labels: { ...env, severity },
				value: r.reasons.filter((x) => x.severity === severity).length,
			});
		for (const n of fig.newest) {
			const labels = { ...env, engine: n.engine, type: n.type };
			f.age.samples.push({ labels, value: n.ageSeconds });
			f.timestamp.samples.push({ labels, value: seconds(n.startedAt) });
			f.bytes.samples.push({ labels, value: n.bytes });
			f.copies.samples.push({ labels, value: n.copies });
		}
		f.required.samples.push({ labels: env, value: fig.requiredCopies });
		for (const c of fig.chains) f.chain.samples.push({ labels: { ...env, engine: c.engine }, value: c.length });
		f.complete.samples.push({ labels: env, value: fig.completeSets });
		f.unfinished.samples.push({ labels: env, value: fig.unfinished.length });
		f.invalid.samples.push({ labels: env, value: fig.invalid.length });
		f.damaged.samples.push({ labels: env, value: fig.damaged.length });
		f.staleLocks.samples.push({ labels: env, value: fig.staleLocks });
		const tests = fig.restoreTests;
		f.tests.samples.push({ labels: env, value: tests.count });
		f.testAge.samples.push({ labels: env, value: tests.newestPassed ? tests.newestPassed.ageSeconds : Infinity });
		if (tests.newestPassed)
			f.testTimestamp.samples.push({ labels: env, value: seconds(tests.newestPassed.finishedAt) });
		if (tests.last) f.testPassed.samples.push({ labels: env, value: tests.last.passed ? 1 : 0 });
		if (tests.rto.latestMs !== null) f.rto.samples.push({ labels: env, value: tests.rto.latestMs / 1000 });
		// A destination is up only if every environment could be read on it.
		for (const d of fig.destinations) up.set(d.destination, Math.min(up.get(d.destination) ?? 1, d.reachable ? 1 : 0));
	}
	for (const [destination, value] of [...up.entries()].sort(([a], [b]) => a.localeCompare(b)))
		f.up.samples.push({ labels: { destination }, value });

	return Object.values(f)
		.filter((x) => x.samples.length)
		.map(renderFamily)
		.join('');
}

function renderFamily(family: Family): string {
	const lines = [`# HELP ${family.name} ${escapeHelp(family.help)}`, `# TYPE ${family.name} gauge`];
	const seen = new Set<string>();
	for (const sample of family.samples) {
		const labels = Object.entries(sample.labels)
			.map(([name, value]) => `${name}="${escapeLabelValue(value)}"`)
			.join(',');
		const line = `${family.name}${labels ? `{${labels}}` : ''} ${formatValue(sample.value)}`;
		// The format forbids two samples with the same labels in one family.
		if (seen.has(labels)) continue;
		seen.add(labels);
		lines.push(line);
	}
	return lines.join('\n') + '\n';
}
