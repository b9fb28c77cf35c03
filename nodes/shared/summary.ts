import { formatBytes, formatDuration } from '../../core/format';

export type Language = 'en' | 'pt-BR';

export const languageOption = {
	displayName: 'Summary Language',
	name: 'language',
	type: 'options' as const,
	options: [
		{ name: 'English', value: 'en' },
		{ name: 'Português (Brasil)', value: 'pt-BR' },
	],
	default: 'en',
	description: 'Language of the one-sentence `summary` field, for Slack or email messages',
};

const number = (n: number, language: Language) => n.toLocaleString(language === 'pt-BR' ? 'pt-BR' : 'en-US');
const bytes = (n: number, language: Language) =>
	language === 'pt-BR' ? formatBytes(n).replace('.', ',') : formatBytes(n);

export function dumpSummary(
	s: {
		backupId: string;
		database: string;
		serverVersion: string;
		tableCount: number;
		rowCount: number;
		totalBytes: number;
		durationMs: number;
	},
	language: Language,
): string {
	return language === 'pt-BR'
		? `Backup ${s.backupId} do banco ${s.database} (PostgreSQL ${s.serverVersion}) concluído: ${number(s.tableCount, language)} tabelas, ${number(s.rowCount, language)} linhas, ${bytes(s.totalBytes, language)} em ${formatDuration(s.durationMs)}.`
		: `Backup ${s.backupId} of database ${s.database} (PostgreSQL ${s.serverVersion}) done: ${number(s.tableCount, language)} tables, ${number(s.rowCount, language)} rows, ${bytes(s.totalBytes, language)} in ${formatDuration(s.durationMs)}.`;
}

export function verifySummary(
	backupId: string,
	checks: Array<{ name: string; ok: boolean; message: string; notRun?: boolean }>,
	language: Language,
): string {
	const failed = checks.filter((c) => !c.ok && !c.notRun);
	const skipped = checks.filter((c) => c.notRun).map((c) => c.name);
	if (!failed.length && skipped.length)
		return language === 'pt-BR'
			? `Backup ${backupId} verificado: ${checks.length - skipped.length} verificações OK; não executadas: ${skipped.join(', ')}.`
			: `Backup ${backupId} verified: ${checks.length - skipped.length} checks passed; not run: ${skipped.join(', ')}.`;
	if (!failed.length)
		return language === 'pt-BR'
			? `Backup ${backupId} verificado: ${checks.length} verificações OK.`
			: `Backup ${backupId} verified: all ${checks.length} checks passed.`;
	const detail = failed.map((c) => `${c.name}: ${c.message}`).join('; ');
	return language === 'pt-BR'
		? `Backup ${backupId} FALHOU na verificação (${failed.length} de ${checks.length}): ${detail}`
		: `Backup ${backupId} FAILED verification (${failed.length} of ${checks.length} checks): ${detail}`;
}

/** Restore Test / Restore: the outcome, the time it took and every failed check. */
export function restoreTestSummary(
	r: {
		backupId: string | null;
		passed: boolean;
		restoreMs: number;
		restoredBytes: number;
		database: string | null;
		kept: boolean;
		checks: Array<{ name: string; ok: boolean; message: string }>;
	},
	language: Language,
	real = false,
): string {
	const pt = language === 'pt-BR';
	const failed = r.checks.filter((c) => !c.ok);
	const what = real
		? pt
			? 'Restauração do backup'
			: 'Restore of backup'
		: pt
			? 'Teste de restauração do backup'
			: 'Restore test of backup';
	const where = r.database ? (pt ? ` no banco ${r.database}` : ` into ${r.database}`) : '';
	// 0 bytes: the size is unknown (SQL Server's scratch copy is not measured), not an empty database
	const timing =
		r.restoredBytes > 0
			? `${formatDuration(r.restoreMs)}, ${bytes(r.restoredBytes, language)}`
			: formatDuration(r.restoreMs);
	if (!failed.length)
		return pt
			? `${what} ${r.backupId}${where} APROVADO: ${r.checks.length} verificações OK (${timing}).`
			: `${what} ${r.backupId}${where} PASSED: all ${r.checks.length} checks passed (${timing}).`;
	const detail = failed.map((c) => `${c.name}: ${c.message}`).join('; ');
	const kept = r.kept
		? pt
			? ` Banco ${r.database} mantido para investigação.`
			: ` Database ${r.database} kept for investigation.`
		: '';
	return pt
		? `${what} ${r.backupId} FALHOU (${failed.length} de ${r.checks.length}): ${detail}.${kept}`
		: `${what} ${r.backupId} FAILED (${failed.length} of ${r.checks.length} checks): ${detail}.${kept}`;
}

export function failureSummary(what: string, message: string, language: Language): string {
	return language === 'pt-BR' ? `FALHA em ${what}: ${message}` : `${what} FAILED: ${message}`;
}
