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
const bytes = (n: number, language: Language) => (language === 'pt-BR' ? formatBytes(n).replace('.', ',') : formatBytes(n));

export function dumpSummary(
	s: { backupId: string; database: string; serverVersion: string; tableCount: number; rowCount: number; totalBytes: number; durationMs: number },
	language: Language,
): string {
	return language === 'pt-BR'
		? `Backup ${s.backupId} do banco ${s.database} (PostgreSQL ${s.serverVersion}) concluído: ${number(s.tableCount, language)} tabelas, ${number(s.rowCount, language)} linhas, ${bytes(s.totalBytes, language)} em ${formatDuration(s.durationMs)}.`
		: `Backup ${s.backupId} of database ${s.database} (PostgreSQL ${s.serverVersion}) done: ${number(s.tableCount, language)} tables, ${number(s.rowCount, language)} rows, ${bytes(s.totalBytes, language)} in ${formatDuration(s.durationMs)}.`;
}

export function verifySummary(backupId: string, checks: Array<{ name: string; ok: boolean; message: string }>, language: Language): string {
	const failed = checks.filter((c) => !c.ok);
	if (!failed.length)
		return language === 'pt-BR'
			? `Backup ${backupId} verificado: ${checks.length} verificações OK.`
			: `Backup ${backupId} verified: all ${checks.length} checks passed.`;
	const detail = failed.map((c) => `${c.name}: ${c.message}`).join('; ');
	return language === 'pt-BR'
		? `Backup ${backupId} FALHOU na verificação (${failed.length} de ${checks.length}): ${detail}`
		: `Backup ${backupId} FAILED verification (${failed.length} of ${checks.length} checks): ${detail}`;
}

export function failureSummary(what: string, message: string, language: Language): string {
	return language === 'pt-BR' ? `FALHA em ${what}: ${message}` : `${what} FAILED: ${message}`;
}
