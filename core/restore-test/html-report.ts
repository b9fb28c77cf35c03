import { formatBytes, formatDuration } from '../format';
import type { RestoreReport } from '../restore-shared/report';

export type ReportLanguage = 'en' | 'pt-BR';

const escapeHtml = (value: unknown) =>
	String(value ?? '').replace(
		/[&<>"']/g,
		(ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!,
	);

const TEXT = {
	en: {
		title: 'Restore test',
		realTitle: 'Restore',
		passed: 'PASSED',
		failed: 'FAILED',
		set: 'Backup set',
		point: 'Restore point',
		database: 'Database',
		files: 'Files (restored folder)',
		kept: 'kept for investigation',
		restore: 'Restore time',
		checksTime: 'Checks time',
		size: 'Restored size',
		rto: 'Measured RTO (download + restore + checks)',
		check: 'Check',
		result: 'Result',
		expected: 'Expected',
		actual: 'Actual',
		detail: 'Detail',
		ok: 'ok',
		fail: 'FAIL',
	},
	'pt-BR': {
		title: 'Teste de restauração',
		realTitle: 'Restauração',
		passed: 'APROVADO',
		failed: 'FALHOU',
		set: 'Backup',
		point: 'Ponto de restauração',
		database: 'Banco',
		files: 'Arquivos (pasta restaurada)',
		kept: 'mantido para investigação',
		restore: 'Tempo de restauração',
		checksTime: 'Tempo das verificações',
		size: 'Tamanho restaurado',
		rto: 'RTO medido (download + restauração + verificações)',
		check: 'Verificação',
		result: 'Resultado',
		expected: 'Esperado',
		actual: 'Encontrado',
		detail: 'Detalhe',
		ok: 'ok',
		fail: 'FALHA',
	},
} as const;

/**
 * A small self-contained HTML page (inline styles only, as e-mail clients need) with every
 * check: ready to attach or embed with n8n's e-mail nodes. Every value is escaped.
 */
export function restoreReportHtml(
	report: RestoreReport,
	language: ReportLanguage,
	real = false,
	/** The measured recovery time, when known (the nodes add the download). */
	rtoMs?: number,
): string {
	const t = TEXT[language];
	const cell = 'style="border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top"';
	const colour = report.passed ? '#1e7e34' : '#b52a2a';
	const rows = report.checks
		.map(
			(c) =>
				`<tr><td ${cell}>${escapeHtml(c.name)}</td><td ${cell}><b style="color:${c.ok ? '#1e7e34' : '#b52a2a'}">${c.ok ? t.ok : t.fail}</b></td>` +
				`<td ${cell}>${escapeHtml(c.expected)}</td><td ${cell}>${escapeHtml(c.actual)}</td><td ${cell}>${escapeHtml(c.message)}</td></tr>`,
		)
		.join('\n');
	const where = (r: RestoreReport) => (r.database ? `${r.database}${r.kept ? ` (${t.kept})` : ''}` : '—');
	const parts = (report as { parts?: { database: RestoreReport; files: RestoreReport | null } }).parts;
	const isFiles = (r: RestoreReport) => r.manifest?.engine === 'protheus-files';
	// A files set restores into a folder; a restore point into a database and a folder.
	const places = parts
		? [
				[t.database, where(parts.database)],
				[t.files, parts.files ? where(parts.files) : '—'],
			]
		: [[isFiles(report) ? t.files : t.database, where(report)]];
	const facts = [
		[parts ? t.point : t.set, report.backupId ?? '—'],
		...places,
		[t.restore, formatDuration(report.restoreMs)],
		[t.checksTime, formatDuration(report.checksMs)],
		[t.size, formatBytes(report.restoredBytes)],
		...(rtoMs === undefined ? [] : [[t.rto, formatDuration(rtoMs)]]),
	]
		.map(([k, v]) => `<tr><th ${cell}>${escapeHtml(k)}</th><td ${cell}>${escapeHtml(v)}</td></tr>`)
		.join('\n');
	const title = `${real ? t.realTitle : t.title} ${report.backupId ?? ''}: ${report.passed ? t.passed : t.failed}`;
	return `<!DOCTYPE html>
<html lang="${language}"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
<body style="font-family:Arial,Helvetica,sans-serif;font-size:14px">
<h2 style="color:${colour}">${escapeHtml(title)}</h2>
<table style="border-collapse:collapse">${facts}</table>
<p></p>
<table style="border-collapse:collapse">
<tr><th ${cell}>${t.check}</th><th ${cell}>${t.result}</th><th ${cell}>${t.expected}</th><th ${cell}>${t.actual}</th><th ${cell}>${t.detail}</th></tr>
${rows}
</table>
</body></html>
`;
}
