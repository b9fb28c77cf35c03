import type { BackupErrorCode } from '../../core/errors';
import { countOf, formatBytes, formatDuration } from '../../core/format';

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
	description: 'Language of the one-sentence <code>summary</code> field, for Slack or email messages',
};

const number = (n: number, language: Language) => n.toLocaleString(language === 'pt-BR' ? 'pt-BR' : 'en-US');
/** "1 table", "1.234 tabelas": a counted noun with the number in the summary's language. */
const count = (n: number, singular: string, plural: string, language: Language) =>
	countOf(n, singular, plural, number(n, language));
/** "1 check passed" / "all 3 checks passed", "1 verificação OK" / "3 verificações OK". */
const allPassed = (n: number, language: Language) =>
	language === 'pt-BR'
		? `${count(n, 'verificação', 'verificações', language)} OK`
		: n === 1
			? '1 check passed'
			: `all ${n} checks passed`;
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
		? `Backup ${s.backupId} do banco ${s.database} (PostgreSQL ${s.serverVersion}) concluído: ${count(s.tableCount, 'tabela', 'tabelas', language)}, ${count(s.rowCount, 'linha', 'linhas', language)}, ${bytes(s.totalBytes, language)} em ${formatDuration(s.durationMs, language)}.`
		: `Backup ${s.backupId} of database ${s.database} (PostgreSQL ${s.serverVersion}) done: ${count(s.tableCount, 'table', 'tables', language)}, ${count(s.rowCount, 'row', 'rows', language)}, ${bytes(s.totalBytes, language)} in ${formatDuration(s.durationMs, language)}.`;
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
			? `Backup ${backupId} verificado: ${allPassed(checks.length - skipped.length, language)}; não executadas: ${skipped.join(', ')}.`
			: `Backup ${backupId} verified: ${count(checks.length - skipped.length, 'check', 'checks', language)} passed; not run: ${skipped.join(', ')}.`;
	if (!failed.length)
		return language === 'pt-BR'
			? `Backup ${backupId} verificado: ${allPassed(checks.length, language)}.`
			: `Backup ${backupId} verified: ${allPassed(checks.length, language)}.`;
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
			? `${formatDuration(r.restoreMs, language)}, ${bytes(r.restoredBytes, language)}`
			: formatDuration(r.restoreMs, language);
	if (!failed.length)
		return pt
			? `${what} ${r.backupId}${where} APROVADO: ${allPassed(r.checks.length, language)} (${timing}).`
			: `${what} ${r.backupId}${where} PASSED: ${allPassed(r.checks.length, language)} (${timing}).`;
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

/**
 * What kind of failure, in Portuguese, before the error's own (English) message: the summary of a
 * failed item under Summary Language = Português reads as Portuguese, and the detail stays exact.
 */
const FAILURE_PT: Record<BackupErrorCode, string> = {
	AUTH_FAILED: 'autenticação recusada',
	UNREACHABLE: 'servidor inacessível',
	DATABASE_NOT_FOUND: 'banco de dados não encontrado',
	PERMISSION_DENIED: 'permissão negada',
	CLIENT_NOT_FOUND: 'programa cliente não encontrado',
	CLIENT_TOO_OLD: 'programa cliente antigo demais',
	UNSUPPORTED_OPTION: 'opção não suportada',
	STAGING_FOLDER: 'problema na pasta de trabalho',
	DISK_FULL: 'disco cheio',
	DUMP_FAILED: 'o backup falhou',
	MANIFEST_INVALID: 'manifesto inválido',
	SET_NOT_FOUND: 'backup não encontrado',
	VERIFY_FAILED: 'a verificação falhou',
	INVALID_INPUT: 'parâmetro inválido',
	BACKUP_CHAIN_BROKEN: 'cadeia de backups quebrada',
	RESTORE_FAILED: 'a restauração falhou',
	HOST_KEY_MISMATCH: 'chave do servidor diferente da fixada',
	TLS_CERTIFICATE: 'certificado TLS recusado',
	QUOTA_EXCEEDED: 'cota do destino esgotada',
	TRANSFER_FAILED: 'a transferência falhou',
	TIMEOUT: 'tempo esgotado',
	LOCKED: 'ambiente bloqueado por outra execução',
	LOCK_LOST: 'bloqueio do ambiente perdido',
	TARGET_EXISTS: 'o banco de destino já existe',
	TARGET_IS_SOURCE: 'o destino é o banco de origem',
	CANCELLED: 'execução cancelada',
	UNSAFE_ARCHIVE: 'arquivo inseguro no backup',
};

export function failureSummary(what: string, message: string, language: Language, code?: BackupErrorCode): string {
	if (language !== 'pt-BR') return `${what} FAILED: ${message}`;
	return code && FAILURE_PT[code]
		? `FALHA em ${what}: ${FAILURE_PT[code]} (${message})`
		: `FALHA em ${what}: ${message}`;
}
