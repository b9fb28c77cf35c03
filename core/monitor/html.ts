/**
 * The status page: one self-contained HTML document (inline styles, inline SVG charts, no
 * script, no external URL) with one row per environment, for an e-mail attachment or body.
 * Every value from a destination is escaped.
 */
import { formatBytes, formatDuration } from '../format';
import { ageText } from './reasons';
import { monitorSummary, reasonText, statusText } from './summary';
import type { EnvironmentResult, MonitorLanguage, MonitorStatus } from './types';

const TEXT = {
	en: {
		title: 'TOTVS backup status',
		generated: 'Generated',
		environment: 'Environment',
		status: 'Status',
		newest: 'Newest good backups',
		copies: 'copies',
		restore: 'Restore tests',
		lastPassed: 'last passed',
		lastResult: 'last result',
		passed: 'passed',
		failed: 'FAILED',
		never: 'never',
		size: 'Size of fulls',
		rto: 'Recovery time (RTO)',
		reasons: 'Reasons',
		none: 'none',
		old: 'old',
		ago: 'ago',
		nothing: 'no data',
	},
	'pt-BR': {
		title: 'Situação dos backups TOTVS',
		generated: 'Gerado em',
		environment: 'Ambiente',
		status: 'Situação',
		newest: 'Backups bons mais recentes',
		copies: 'cópias',
		restore: 'Testes de restauração',
		lastPassed: 'último aprovado',
		lastResult: 'último resultado',
		passed: 'aprovado',
		failed: 'FALHOU',
		never: 'nunca',
		size: 'Tamanho dos fulls',
		rto: 'Tempo de recuperação (RTO)',
		reasons: 'Motivos',
		none: 'nenhum',
		old: '',
		ago: 'atrás',
		nothing: 'sem dados',
	},
} as const;

const COLOUR: Record<MonitorStatus, string> = { ok: '#1e7e34', warning: '#b8860b', critical: '#b52a2a' };

export const escapeHtml = (value: unknown) =>
	String(value ?? '').replace(
		/[&<>"']/g,
		(ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!,
	);

export interface ChartPoint {
	label: string;
	value: number;
}

/**
 * A small line chart (inline SVG, 160 x 40): one point per sample, oldest left, the newest
 * marked; each point has a <title> with its label and value. Empty for no samples.
 */
export function sparkline(points: ChartPoint[], format: (value: number) => string, colour = '#2f6db5'): string {
	if (!points.length) return '';
	const width = 160;
	const height = 40;
	const pad = 4;
	const values = points.map((p) => p.value);
	const min = Math.min(...values);
	const max = Math.max(...values);
	const span = max - min || 1;
	const x = (i: number) => (points.length === 1 ? width / 2 : pad + (i * (width - 2 * pad)) / (points.length - 1));
	const y = (v: number) => (max === min ? height / 2 : height - pad - ((v - min) * (height - 2 * pad)) / span);
	const coords = points.map((p, i) => `${x(i).toFixed(1)},${y(p.value).toFixed(1)}`);
	const dots = points
		.map(
			(p, i) =>
				`<circle cx="${x(i).toFixed(1)}" cy="${y(p.value).toFixed(1)}" r="${i === points.length - 1 ? 3 : 2}" fill="${colour}"><title>${escapeHtml(`${p.label}: ${format(p.value)}`)}</title></circle>`,
		)
		.join('');
	const line =
		points.length > 1
			? `<polyline points="${coords.join(' ')}" fill="none" stroke="${colour}" stroke-width="1.5"/>`
			: '';
	return `<svg width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img">${line}${dots}</svg>`;
}

/** The page for every environment; `generatedAt` is shown in UTC. */
export function renderStatusPage(results: EnvironmentResult[], language: MonitorLanguage, generatedAt: Date): string {
	const t = TEXT[language];
	const cell = 'style="border:1px solid #ccc;padding:6px 8px;text-align:left;vertical-align:top"';
	const head = [t.environment, t.status, t.newest, t.restore, t.size, t.rto, t.reasons]
		.map((h) => `<th ${cell}>${escapeHtml(h)}</th>`)
		.join('');
	const rows = results.map((r) => row(r, language, cell)).join('\n');
	const worst = results.some((r) => r.status === 'critical')
		? 'critical'
		: results.some((r) => r.status === 'warning')
			? 'warning'
			: 'ok';
	const title = `${t.title}: ${statusText(worst, language)}`;
	return `<!DOCTYPE html>
<html lang="${language}"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
<body style="font-family:Arial,Helvetica,sans-serif;font-size:14px;color:#222">
<h2 style="margin:0 0 4px 0">${escapeHtml(t.title)}: <span style="color:${COLOUR[worst]}">${escapeHtml(statusText(worst, language))}</span></h2>
<p style="margin:0 0 12px 0;color:#666">${escapeHtml(t.generated)} ${escapeHtml(
		generatedAt
			.toISOString()
			.replace('T', ' ')
			.replace(/\.\d+Z$/, ' UTC'),
	)}</p>
<table style="border-collapse:collapse">
<thead><tr>${head}</tr></thead>
<tbody>
${rows}
</tbody>
</table>
</body></html>
`;
}

function row(r: EnvironmentResult, language: MonitorLanguage, cell: string): string {
	const t = TEXT[language];
	const f = r.figures;
	const newest = f.newest.length
		? f.newest
				.map(
					(n) =>
						`${escapeHtml(`${n.engine} ${n.type}`)}: <b>${escapeHtml(ageText(n.ageSeconds, language))}</b>${t.old ? ` ${escapeHtml(t.old)}` : ''}, ${n.copies}/${f.requiredCopies} ${escapeHtml(t.copies)}<br><span style="color:#666;font-size:12px">${escapeHtml(n.backupId)}</span>`,
				)
				.join('<br>')
		: escapeHtml(t.none);
	const tests = f.restoreTests;
	const restore = [
		`${escapeHtml(t.lastPassed)}: ${tests.newestPassed ? `<b>${escapeHtml(ageText(tests.newestPassed.ageSeconds, language))}</b> ${escapeHtml(t.ago)}` : escapeHtml(t.never)}`,
		tests.last
			? `${escapeHtml(t.lastResult)}: <b style="color:${tests.last.passed ? COLOUR.ok : COLOUR.critical}">${escapeHtml(tests.last.passed ? t.passed : t.failed)}</b> (${escapeHtml(tests.last.testedId)})`
			: '',
	]
		.filter(Boolean)
		.join('<br>');
	const sizeCharts = f.sizes
		.filter((s) => s.type === 'full')
		.map(
			(s) =>
				`<div style="font-size:12px;color:#666">${escapeHtml(s.engine)} · ${escapeHtml(formatBytes(s.latestBytes))}</div>${sparkline(
					s.samples.map((p) => ({ label: p.backupId, value: p.bytes })),
					formatBytes,
				)}`,
		)
		.join('');
	const rtoChart = tests.rto.samples.length
		? `<div style="font-size:12px;color:#666">${escapeHtml(formatDuration(tests.rto.latestMs ?? 0))}</div>${sparkline(
				tests.rto.samples.map((p) => ({ label: `${p.testedId} ${p.finishedAt}`, value: p.rtoMs })),
				formatDuration,
				'#6f42c1',
			)}`
		: '';
	const reasons = r.reasons.length
		? `<ul style="margin:0;padding-left:18px">${r.reasons
				.map((x) => `<li style="color:${COLOUR[x.severity]}">${escapeHtml(reasonText(x, language))}</li>`)
				.join('')}</ul>`
		: escapeHtml(monitorSummary(r, language));
	return `<tr><td ${cell}><b>${escapeHtml(r.environment)}</b></td><td ${cell}><b style="color:${COLOUR[r.status]}">${escapeHtml(statusText(r.status, language))}</b></td><td ${cell}>${newest}</td><td ${cell}>${restore}</td><td ${cell}>${sizeCharts || escapeHtml(t.nothing)}</td><td ${cell}>${rtoChart || escapeHtml(t.nothing)}</td><td ${cell}>${reasons}</td></tr>`;
}
