import { countOf, formatBytes, formatDuration } from '../../core/format';
import type { PruneResult, UploadSetResult } from '../../core/upload/set-transfer';
import type { Language } from '../shared/summary';

const bytes = (n: number, language: Language) =>
	language === 'pt-BR' ? formatBytes(n).replace('.', ',') : formatBytes(n);

const CHECKED_BY = {
	en: { sha256: 'remote SHA-256', md5: 'remote MD5', 'read-back': 'read-back', size: 'size only' },
	'pt-BR': { sha256: 'SHA-256 remoto', md5: 'MD5 remoto', 'read-back': 'releitura', size: 'apenas tamanho' },
} as const;

export function uploadSummary(backupId: string, result: UploadSetResult, language: Language): string {
	const how = CHECKED_BY[language][result.verifiedBy];
	if (result.alreadyThere)
		return language === 'pt-BR'
			? `Backup ${backupId} já estava completo em ${result.destination} (${bytes(result.bytes, language)}); nada foi reenviado.`
			: `Backup ${backupId} was already complete on ${result.destination} (${bytes(result.bytes, language)}); nothing was sent again.`;
	return language === 'pt-BR'
		? `Backup ${backupId} enviado para ${result.destination}: ${bytes(result.bytes, language)} em ${formatDuration(result.durationMs, language)}, conferido por ${how}.`
		: `Backup ${backupId} uploaded to ${result.destination}: ${bytes(result.bytes, language)} in ${formatDuration(result.durationMs, language)}, checked by ${how}.`;
}

export function downloadSummary(
	backupId: string,
	from: string,
	bytesDone: number,
	ok: boolean,
	language: Language,
): string {
	if (language === 'pt-BR')
		return ok
			? `Backup ${backupId} baixado de ${from} (${bytes(bytesDone, language)}) e verificado.`
			: `Backup ${backupId} baixado de ${from}, mas FALHOU na verificação.`;
	return ok
		? `Backup ${backupId} downloaded from ${from} (${bytes(bytesDone, language)}) and verified.`
		: `Backup ${backupId} downloaded from ${from}, but it FAILED verification.`;
}

export function pruneSummary(environment: string, where: string, result: PruneResult, language: Language): string {
	const sets = result.plan.sets.filter((d) => d.action === 'delete').length;
	const unfinished = result.plan.unfinished.filter((d) => d.action === 'delete').length;
	const size = bytes(result.plan.deleteBytes, language);
	if (language === 'pt-BR')
		return result.dryRun
			? `Simulação de limpeza de ${environment} em ${where}: apagaria ${countOf(sets, 'backup')} e ${countOf(unfinished, 'pasta incompleta', 'pastas incompletas')} (${size}), manteria ${result.plan.keepCount}.`
			: `Limpeza de ${environment} em ${where}: ${countOf(sets, 'backup')} e ${countOf(unfinished, 'pasta incompleta', 'pastas incompletas')} apagados (${size}), ${countOf(result.plan.keepCount, 'mantido')}.`;
	return result.dryRun
		? `Prune dry run for ${environment} on ${where}: would delete ${countOf(sets, 'set')} and ${countOf(unfinished, 'unfinished folder')} (${size}), keep ${result.plan.keepCount}.`
		: `Pruned ${environment} on ${where}: deleted ${countOf(sets, 'set')} and ${countOf(unfinished, 'unfinished folder')} (${size}), kept ${result.plan.keepCount}.`;
}
