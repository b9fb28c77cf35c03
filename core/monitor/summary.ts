import { ageText } from './reasons';
import type { EnvironmentResult, MonitorLanguage, MonitorReason, MonitorStatus } from './types';

const STATUS_TEXT: Record<MonitorLanguage, Record<MonitorStatus, string>> = {
	en: { ok: 'OK', warning: 'WARNING', critical: 'CRITICAL' },
	'pt-BR': { ok: 'OK', warning: 'ATENÇÃO', critical: 'CRÍTICO' },
};

export const statusText = (status: MonitorStatus, language: MonitorLanguage) => STATUS_TEXT[language][status];

export const reasonText = (reason: MonitorReason, language: MonitorLanguage) =>
	language === 'pt-BR' ? reason.ptBR : reason.en;

/** One sentence per environment, for Slack or e-mail: the worst reason first, or the good news. */
export function monitorSummary(result: EnvironmentResult, language: MonitorLanguage): string {
	const pt = language === 'pt-BR';
	const head = `${result.environment}: ${statusText(result.status, language)}`;
	if (result.reasons.length) {
		const more = result.reasons.length - 1;
		const tail = more > 0 ? (pt ? ` (+${more} ${more === 1 ? 'outro' : 'outros'})` : ` (+${more} more)`) : '';
		return `${head}: ${reasonText(result.reasons[0], language)}${tail}.`;
	}
	const newest = [...result.figures.newest].sort((a, b) => a.ageSeconds - b.ageSeconds)[0];
	const parts: string[] = [];
	if (newest)
		parts.push(
			pt
				? `backup mais recente ${newest.backupId} há ${ageText(newest.ageSeconds, language)}, em ${newest.copies} ${newest.copies === 1 ? 'destino' : 'destinos'}`
				: `newest backup ${newest.backupId} ${ageText(newest.ageSeconds, language)} old, on ${newest.copies} ${newest.copies === 1 ? 'destination' : 'destinations'}`,
		);
	const passed = result.figures.restoreTests.newestPassed;
	if (passed)
		parts.push(
			pt
				? `último teste de restauração aprovado há ${ageText(passed.ageSeconds, language)}`
				: `last restore test passed ${ageText(passed.ageSeconds, language)} ago`,
		);
	return parts.length ? `${head}: ${parts.join('; ')}.` : `${head}.`;
}
