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
		database: 'Database',
		kept: 'kept for investigation',
		restore: 'Restore time',
		checksTime: 'Checks time',
		size: 'Restored size',
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
		database: 'Banco',
		kept: 'mantido para investigação',
		restore: 'Tempo de restauração',
		checksTime: 'Tempo das verificações',
		size: 'Tamanho restaurado',
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
export function restoreReportHtml(report: RestoreReport, language: ReportLanguage, real = false): string {
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
	const facts = [
		[t.set, report.backupId ?? '—'],
		[t.database, report.database ? `${report.database}${report.kept ? ` (${t.kept})` : ''}` : '—'],
		[t.restore, formatDuration(report.restoreMs)],
		[t.checksTime, formatDuration(report.checksMs)],
		[t.size, formatBytes(report.restoredBytes)],
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
