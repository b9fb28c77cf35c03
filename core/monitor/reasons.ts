/**
 * Every reason the Monitor gives, in English and Brazilian Portuguese: one sentence a person on
 * call can act on, naming the set, the destination and the limit.
 */
import type { BackupType } from '../backup-set/ids';
import { formatBytes, formatDuration } from '../format';
import type { MonitorLanguage, MonitorReason, ReasonCode, Severity } from './types';

const decimal = (n: number, language: MonitorLanguage) =>
	language === 'pt-BR' ? n.toFixed(1).replace('.', ',') : n.toFixed(1);

/** 5400 -> "90 min", 93600 -> "26.0 h", 777600 -> "9.0 days" ("9,0 dias"). */
export function ageText(seconds: number, language: MonitorLanguage): string {
	const s = Math.max(0, seconds);
	if (s < 2 * 3600) return `${Math.round(s / 60)} min`;
	if (s < 72 * 3600) return `${decimal(s / 3600, language)} h`;
	return `${decimal(s / 86400, language)} ${language === 'pt-BR' ? 'dias' : 'days'}`;
}

const bytesText = (n: number, language: MonitorLanguage) =>
	language === 'pt-BR' ? formatBytes(n).replace('.', ',') : formatBytes(n);

const TYPE_PT: Record<BackupType, string> = {
	full: 'full',
	differential: 'diferencial',
	incremental: 'incremental',
	log: 'de log',
};

/** "the newest full of postgres" / "o backup full mais recente de postgres" */
const newestOf = (engine: string, type: BackupType, language: MonitorLanguage) =>
	language === 'pt-BR' ? `o backup ${TYPE_PT[type]} mais recente de ${engine}` : `the newest ${type} of ${engine}`;

const list = (items: string[], max = 3) =>
	items.length > max ? `${items.slice(0, max).join(', ')} (+${items.length - max})` : items.join(', ');

function reason(
	code: ReasonCode,
	severity: Severity,
	en: string,
	ptBR: string,
	about: Pick<MonitorReason, 'destination' | 'engine' | 'type'> = {},
): MonitorReason {
	return { code, severity, en, ptBR, ...about };
}

export const reasons = {
	destinationUnreachable: (destination: string, error: string) =>
		reason(
			'destination-unreachable',
			'critical',
			`Destination ${destination} could not be read: ${error}`,
			`Não foi possível ler o destino ${destination}: ${error}`,
			{ destination },
		),

	neverBackedUp: (environment: string) =>
		environment === '*'
			? reason(
					'never-backed-up',
					'critical',
					'Never backed up: no backup set of any environment on the destinations read',
					'Nunca houve backup: nenhum backup de nenhum ambiente nos destinos lidos',
				)
			: reason(
					'never-backed-up',
					'critical',
					`Never backed up: no backup set of ${environment} on any destination read`,
					`Nunca houve backup: nenhum backup de ${environment} em nenhum destino lido`,
				),

	noGoodBackup: (engine: string, type: BackupType) =>
		reason(
			'no-good-backup',
			'critical',
			`No good ${type} backup of ${engine}: every one found is damaged or its chain is broken`,
			`Nenhum backup ${TYPE_PT[type]} de ${engine} utilizável: todos os encontrados estão danificados ou com a cadeia quebrada`,
			{ engine, type },
		),

	staleBackup: (engine: string, type: BackupType, backupId: string, ageSeconds: number, limitHours: number) =>
		reason(
			'stale-backup',
			'critical',
			`${capitalise(newestOf(engine, type, 'en'))} (${backupId}) is ${ageText(ageSeconds, 'en')} old, over the ${limitHours} h limit: no good backup arrived in the window`,
			`${capitalise(newestOf(engine, type, 'pt-BR'))} (${backupId}) tem ${ageText(ageSeconds, 'pt-BR')}, acima do limite de ${limitHours} h: nenhum backup bom chegou na janela`,
			{ engine, type },
		),

	chainBroken: (backupId: string, why: string, engine: string, type: BackupType) =>
		reason(
			'chain-broken',
			'warning',
			`Newest ${type} of ${engine}, ${backupId}, cannot be restored: ${why}`,
			`O backup ${TYPE_PT[type]} mais recente de ${engine}, ${backupId}, não pode ser restaurado: ${why}`,
			{ engine, type },
		),

	chainTooLong: (engine: string, backupId: string, length: number, limit: number) =>
		reason(
			'chain-too-long',
			'warning',
			`Restoring ${backupId} (${engine}) needs a chain of ${length} sets, more than ${limit}: take a new full`,
			`Restaurar ${backupId} (${engine}) exige uma cadeia de ${length} backups, mais que ${limit}: faça um novo full`,
			{ engine },
		),

	tooFewCopies: (
		engine: string,
		type: BackupType,
		backupId: string,
		copies: number,
		required: number,
		missing: string[],
	) =>
		reason(
			'too-few-copies',
			'warning',
			`${capitalise(newestOf(engine, type, 'en'))} (${backupId}) has ${copies} good ${copies === 1 ? 'copy' : 'copies'}, ${required} wanted (3-2-1)${missing.length ? `; not on ${list(missing)}` : ''}`,
			`${capitalise(newestOf(engine, type, 'pt-BR'))} (${backupId}) tem ${copies} ${copies === 1 ? 'cópia boa' : 'cópias boas'}, ${required} exigidas (3-2-1)${missing.length ? `; ausente em ${list(missing)}` : ''}`,
			{ engine, type },
		),

	restoreTestFailed: (testedId: string, ageSeconds: number) =>
		reason(
			'restore-test-failed',
			'critical',
			`The last restore test (${testedId}, ${ageText(ageSeconds, 'en')} ago) FAILED`,
			`O último teste de restauração (${testedId}, há ${ageText(ageSeconds, 'pt-BR')}) FALHOU`,
		),

	restoreTestStale: (testedId: string, ageSeconds: number, limitDays: number) =>
		reason(
			'restore-test-stale',
			'warning',
			`The newest passed restore test (${testedId}) is ${ageText(ageSeconds, 'en')} old, over the ${limitDays}-day limit`,
			`O teste de restauração aprovado mais recente (${testedId}) tem ${ageText(ageSeconds, 'pt-BR')}, acima do limite de ${limitDays} dias`,
		),

	neverRestoreTested: (any: boolean) =>
		any
			? reason(
					'never-restore-tested',
					'warning',
					'No restore test has ever passed: no backup was proven to restore',
					'Nenhum teste de restauração foi aprovado: nenhum backup foi comprovado',
				)
			: reason(
					'never-restore-tested',
					'warning',
					'Never restore-tested: no backup was proven to restore (no restore-test record on any destination)',
					'Nunca testado: nenhum backup foi comprovado por um teste de restauração (nenhum registro em nenhum destino)',
				),

	rtoOverLimit: (testedId: string, rtoMs: number, limitMinutes: number) =>
		reason(
			'rto-over-limit',
			'warning',
			`The newest passed restore test (${testedId}) took ${formatDuration(rtoMs)}, over the ${limitMinutes} min limit`,
			`O teste de restauração aprovado mais recente (${testedId}) levou ${formatDuration(rtoMs, 'pt-BR')}, acima do limite de ${limitMinutes} min`,
		),

	rtoJump: (testedId: string, rtoMs: number, medianMs: number, percent: number) =>
		reason(
			'rto-jump',
			'warning',
			`Restore time jumped: ${testedId} took ${formatDuration(rtoMs)}, ${Math.round(percent)}% more than the usual ${formatDuration(medianMs)}`,
			`O tempo de restauração subiu: ${testedId} levou ${formatDuration(rtoMs, 'pt-BR')}, ${Math.round(percent)}% acima do habitual ${formatDuration(medianMs, 'pt-BR')}`,
		),

	sizeDrop: (engine: string, backupId: string, bytes: number, medianBytes: number, percent: number) =>
		reason(
			'size-drop',
			'critical',
			`${backupId} (${engine}) is ${bytesText(bytes, 'en')}, ${Math.round(-percent)}% smaller than the usual ${bytesText(medianBytes, 'en')}: data may be missing from the dump`,
			`${backupId} (${engine}) tem ${bytesText(bytes, 'pt-BR')}, ${Math.round(-percent)}% menor que o habitual ${bytesText(medianBytes, 'pt-BR')}: podem faltar dados no dump`,
			{ engine, type: 'full' },
		),

	sizeJump: (engine: string, backupId: string, bytes: number, medianBytes: number, percent: number) =>
		reason(
			'size-jump',
			'warning',
			`${backupId} (${engine}) is ${bytesText(bytes, 'en')}, ${Math.round(percent)}% larger than the usual ${bytesText(medianBytes, 'en')}`,
			`${backupId} (${engine}) tem ${bytesText(bytes, 'pt-BR')}, ${Math.round(percent)}% maior que o habitual ${bytesText(medianBytes, 'pt-BR')}`,
			{ engine, type: 'full' },
		),

	damagedSets: (destination: string, items: Array<{ backupId: string; problem: string }>) =>
		reason(
			'damaged-set',
			'warning',
			`${items.length} damaged ${items.length === 1 ? 'set' : 'sets'} on ${destination} (artifacts missing or of the wrong size): ${list(
				items.map((d) => `${d.backupId}: ${d.problem}`),
				2,
			)}`,
			`${items.length} ${items.length === 1 ? 'backup danificado' : 'backups danificados'} em ${destination} (arquivos ausentes ou com tamanho errado): ${list(
				items.map((d) => `${d.backupId}: ${d.problem}`),
				2,
			)}`,
			{ destination },
		),

	invalidSets: (destination: string, items: Array<{ backupId: string; reason: string }>) =>
		reason(
			'invalid-set',
			'warning',
			`${items.length} ${items.length === 1 ? 'set has' : 'sets have'} an invalid manifest on ${destination}: ${list(items.map((i) => i.backupId))}`,
			`${items.length} ${items.length === 1 ? 'backup tem' : 'backups têm'} manifesto inválido em ${destination}: ${list(items.map((i) => i.backupId))}`,
			{ destination },
		),

	unfinishedSets: (destination: string, items: Array<{ backupId: string; ageSeconds: number }>, limitHours: number) =>
		reason(
			'unfinished-set',
			'warning',
			`${items.length} unfinished ${items.length === 1 ? 'upload' : 'uploads'} on ${destination}, unchanged for over ${limitHours} h: ${list(items.map((u) => `${u.backupId} (${ageText(u.ageSeconds, 'en')})`))}`,
			`${items.length} ${items.length === 1 ? 'envio inacabado' : 'envios inacabados'} em ${destination}, sem mudança há mais de ${limitHours} h: ${list(items.map((u) => `${u.backupId} (${ageText(u.ageSeconds, 'pt-BR')})`))}`,
			{ destination },
		),

	staleLock: (destination: string, owner: string, purpose: string, ageSeconds: number) =>
		reason(
			'stale-lock',
			'warning',
			`Stale lock on ${destination}: ${owner} (${purpose}) stopped renewing it ${ageText(ageSeconds, 'en')} ago; that execution died. The next upload takes it over`,
			`Trava abandonada em ${destination}: ${owner} (${purpose}) parou de renová-la há ${ageText(ageSeconds, 'pt-BR')}; essa execução morreu. O próximo envio a assume`,
			{ destination },
		),

	unreadableLock: (destination: string) =>
		reason(
			'unreadable-lock',
			'warning',
			`The lock file on ${destination} cannot be read: uploads and prunes of this environment fail until it is deleted by hand`,
			`O arquivo de trava em ${destination} não pode ser lido: envios e limpezas deste ambiente falham até que seja apagado à mão`,
			{ destination },
		),

	invalidRestoreRecords: (destination: string, names: string[]) =>
		reason(
			'invalid-restore-record',
			'warning',
			`${names.length} restore-test ${names.length === 1 ? 'record is' : 'records are'} invalid on ${destination} and ignored: ${list(names, 2)}`,
			`${names.length} ${names.length === 1 ? 'registro de teste de restauração inválido' : 'registros de teste de restauração inválidos'} em ${destination}, ignorados: ${list(names, 2)}`,
			{ destination },
		),
};

function capitalise(text: string): string {
	return text.charAt(0).toUpperCase() + text.slice(1);
}
