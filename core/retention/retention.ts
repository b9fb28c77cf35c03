import type { BackupType } from '../backup-set/manifest';
import { BackupError } from '../errors';
import { countOf, formatBytes } from '../format';
import { calendarKeys, checkTimeZone, type Period } from './calendar';

/**
 * Retention (Prune) as a pure function: a list of set summaries and "now" in, one decision per
 * set out, each with its reasons. Nothing here touches a destination, so every rule is tested
 * over thousands of random histories (test/unit/retention.property.test.ts).
 *
 * The rules, in the terms users know from restic / borg:
 * - keep the N newest sets (keepLast), and the newest set of each of the N newest days, ISO
 *   weeks, months and years that have one (GFS), in `timeZone`;
 * - keep every set younger than the minimum age;
 * - always keep the newest verified full;
 * - chain-safe: keep every set a kept set depends on (an incremental or log its parent chain
 *   up to the full, a differential its base full), whatever the rules say about it;
 * - the rules count only usable sets (verified, with their whole chain present and verified):
 *   a damaged set or a broken chain cannot be restored, so it never takes a kept slot;
 * - a set whose manifest is invalid is never deleted (it is not in `sets` at all), and a set
 *   whose chain needs it is kept, not deleted as broken: the manifest may be put back;
 * - unfinished sets (a folder of ours without manifest, see core/upload/remote-catalog.ts) are
 *   removed once older than a threshold, so an upload still in progress in another execution is
 *   never touched.
 * Rules apply per environment and component: a database chain and a files chain are separate.
 */

export interface SetSummary {
	environment: string;
	backupId: string;
	component: string;
	type: BackupType;
	baseBackupId: string | null;
	parentBackupId: string | null;
	/** ISO time the backup started: what the rules order and bucket by. */
	startedAt: string;
	bytes: number;
	/** The manifest is valid and every artifact is present with its recorded size (and hash where checked). */
	verified: boolean;
	/** Why it is not verified. */
	problem?: string;
	/** The manifest's engine; point-in-time sets (postgres-pitr) follow their own rules (pitr-retention.ts). */
	engine?: string;
}

export interface UnfinishedSummary {
	environment: string;
	backupId: string;
	/** ISO time of the newest change seen in the folder. */
	modifiedAt: string;
	bytes?: number;
}

/** A set folder whose manifest cannot be read or trusted: never deleted, and what needs it is kept. */
export interface InvalidSetSummary {
	environment: string;
	/** The folder's name: the id other sets' manifests refer to it by. */
	backupId: string;
	reason: string;
}

export interface RetentionPolicy {
	keepLast: number;
	keepDaily: number;
	keepWeekly: number;
	keepMonthly: number;
	keepYearly: number;
	/** Sets younger than this are never deleted. */
	minimumAgeDays: number;
	/** Unfinished sets older than this are removed. */
	unfinishedAfterHours: number;
	/** IANA time zone for the day / week / month / year buckets. Default UTC. */
	timeZone?: string;
}

export type KeepRule =
	| 'last'
	| 'daily'
	| 'weekly'
	| 'monthly'
	| 'yearly'
	| 'minimum-age'
	| 'newest-verified-full'
	| 'dependency'
	| 'needs-invalid-set'
	| 'unfinished-recent';
export type DeleteRule = 'not-selected' | 'damaged' | 'chain-broken' | 'unfinished-stale';

export interface Reason<R extends string = KeepRule | DeleteRule> {
	rule: R;
	text: string;
	/** The same in Portuguese, for Summary Language = Português (Brasil). */
	textPt: string;
}

export interface SetDecision {
	environment: string;
	backupId: string;
	component: string;
	type: BackupType;
	startedAt: string;
	bytes: number;
	action: 'keep' | 'delete';
	reasons: Reason[];
}

export interface UnfinishedDecision {
	environment: string;
	backupId: string;
	modifiedAt: string;
	bytes: number;
	action: 'keep' | 'delete';
	reason: Reason;
}

export interface PrunePlan {
	/** Newest first. */
	sets: SetDecision[];
	unfinished: UnfinishedDecision[];
	keepCount: number;
	deleteCount: number;
	/** Bytes of the sets and unfinished folders to delete. */
	deleteBytes: number;
	summary: string;
}

const DAY_MS = 86_400_000;
const PERIOD_RULES: Array<{ period: Period; field: keyof RetentionPolicy; rule: KeepRule; noun: string }> = [
	{ period: 'day', field: 'keepDaily', rule: 'daily', noun: 'day' },
	{ period: 'week', field: 'keepWeekly', rule: 'weekly', noun: 'ISO week' },
	{ period: 'month', field: 'keepMonthly', rule: 'monthly', noun: 'month' },
	{ period: 'year', field: 'keepYearly', rule: 'yearly', noun: 'year' },
];
/** Portuguese for the period rules: "do dia 2026-11-26 (1 de 7 diários mantidos)". */
const PERIOD_PT: Record<Period, { of: string; kept: string }> = {
	day: { of: 'do dia', kept: 'diários' },
	week: { of: 'da semana ISO', kept: 'semanais' },
	month: { of: 'do mês', kept: 'mensais' },
	year: { of: 'do ano', kept: 'anuais' },
};
const COUNTS = ['keepLast', 'keepDaily', 'keepWeekly', 'keepMonthly', 'keepYearly'] as const;

/** Rejects a policy that is not whole non-negative numbers or keeps nothing by its own rules. */
export function checkPolicy(policy: RetentionPolicy): void {
	for (const field of [...COUNTS, 'minimumAgeDays', 'unfinishedAfterHours'] as const) {
		const value = policy[field];
		if (
			!Number.isFinite(value) ||
			value < 0 ||
			(COUNTS.includes(field as (typeof COUNTS)[number]) && !Number.isInteger(value))
		)
			throw new BackupError(
				'INVALID_INPUT',
				`Retention "${field}" is ${value}`,
				'Use a whole number of 0 or more (0 turns that rule off).',
			);
	}
	if (COUNTS.every((field) => policy[field] === 0) && policy.minimumAgeDays === 0)
		throw new BackupError(
			'INVALID_INPUT',
			'The retention policy keeps nothing: every "Keep" count and the minimum age are 0',
			'Set at least one of Keep Last, Keep Daily, Keep Weekly, Keep Monthly, Keep Yearly or Minimum Age. Only the newest verified full would survive such a policy, which is almost never what was meant.',
		);
	checkTimeZone(policy.timeZone ?? 'UTC');
}

/** Which set a set needs to be restored: none for a full, the base full for a differential, the parent otherwise. */
export function dependencyOf(set: Pick<SetSummary, 'type' | 'baseBackupId' | 'parentBackupId'>): string | null {
	switch (set.type) {
		case 'full':
			return null;
		case 'differential':
			return set.baseBackupId ?? set.parentBackupId;
		default:
			return set.parentBackupId ?? set.baseBackupId;
	}
}

const newestFirst = (a: SetSummary, b: SetSummary) =>
	Date.parse(b.startedAt) - Date.parse(a.startedAt) || b.backupId.localeCompare(a.backupId);

export function planPrune(
	sets: readonly SetSummary[],
	unfinished: readonly UnfinishedSummary[],
	policy: RetentionPolicy,
	now: Date,
	invalid: readonly InvalidSetSummary[] = [],
): PrunePlan {
	checkPolicy(policy);
	const timeZone = policy.timeZone ?? 'UTC';
	const byId = new Map(sets.map((s) => [`${s.environment}/${s.backupId}`, s]));
	const invalidById = new Map(invalid.map((s) => [`${s.environment}/${s.backupId}`, s]));
	const keep = new Map<SetSummary, Reason[]>();
	const addKeep = (set: SetSummary, reason: Reason) => {
		const reasons = keep.get(set) ?? [];
		reasons.push(reason);
		keep.set(set, reasons);
	};

	// Usable = verified with every set of its chain present and verified. Memoised; a cycle
	// (only possible with hand-edited manifests) counts as broken. `invalid`: the chain reaches a
	// set whose manifest is unreadable; not usable, but not provably broken either (that manifest
	// may be put back from another copy), so such a set is never deleted for it.
	type Usability = { ok: boolean; why?: string; invalid?: string };
	const usable = new Map<SetSummary, Usability>();
	const usability = (set: SetSummary, visiting = new Set<SetSummary>()): Usability => {
		const known = usable.get(set);
		if (known) return known;
		let result: Usability;
		const needed = dependencyOf(set);
		const parent = needed === null ? undefined : byId.get(`${set.environment}/${needed}`);
		if (!set.verified) result = { ok: false, why: set.problem ?? 'not verified' };
		else if (needed === null) result = { ok: true };
		else if (!parent && invalidById.has(`${set.environment}/${needed}`))
			result = { ok: false, why: `it needs ${needed}, whose manifest is invalid`, invalid: needed };
		else if (!parent) result = { ok: false, why: `it needs ${needed}, which is not on the destination` };
		else if (visiting.has(parent)) result = { ok: false, why: `its chain loops back to ${needed}` };
		else {
			visiting.add(set);
			const up = usability(parent, visiting);
			result = up.ok
				? up
				: { ok: false, why: `it needs ${needed}, which cannot be restored (${up.why})`, invalid: up.invalid };
		}
		usable.set(set, result);
		return result;
	};

	const groups = new Map<string, SetSummary[]>();
	for (const set of sets) {
		const key = `${set.environment}/${set.component}`;
		groups.set(key, [...(groups.get(key) ?? []), set]);
	}
	const minimumAgeMs = policy.minimumAgeDays * DAY_MS;

	for (const group of groups.values()) {
		group.sort(newestFirst);
		for (const set of group) {
			const ageMs = now.getTime() - Date.parse(set.startedAt);
			if (ageMs < minimumAgeMs)
				addKeep(set, {
					rule: 'minimum-age',
					text: `younger than the minimum age of ${policy.minimumAgeDays} days`,
					textPt: `mais novo que a idade mínima de ${policy.minimumAgeDays} dias`,
				});
		}
		const newestFull = group.find((s) => s.type === 'full' && s.verified);
		if (newestFull)
			addKeep(newestFull, {
				rule: 'newest-verified-full',
				text: 'the newest verified full backup is always kept',
				textPt: 'o backup completo verificado mais recente é sempre mantido',
			});

		const candidates = group.filter((s) => usability(s).ok);
		candidates.slice(0, policy.keepLast).forEach((set, i) =>
			addKeep(set, {
				rule: 'last',
				text: `number ${i + 1} of the ${policy.keepLast} newest sets kept`,
				textPt: `número ${i + 1} dos ${policy.keepLast} backups mais recentes mantidos`,
			}),
		);
		for (const { period, field, rule, noun } of PERIOD_RULES) {
			const limit = policy[field] as number;
			const seen = new Set<string>();
			for (const set of candidates) {
				if (seen.size >= limit) break;
				const bucket = calendarKeys(new Date(set.startedAt), timeZone)[period];
				if (seen.has(bucket)) continue;
				seen.add(bucket);
				addKeep(set, {
					rule,
					text: `newest set of ${noun} ${bucket} (${seen.size} of ${limit} ${rule} kept)`,
					textPt: `backup mais recente ${PERIOD_PT[period].of} ${bucket} (${seen.size} de ${limit} ${PERIOD_PT[period].kept} mantidos)`,
				});
			}
		}
	}

	// Chain safety: everything a kept set needs is kept too, whatever the rules said about it.
	const pending = [...keep.keys()];
	while (pending.length) {
		const set = pending.pop()!;
		const needed = dependencyOf(set);
		const parent = needed === null ? undefined : byId.get(`${set.environment}/${needed}`);
		if (!parent) continue;
		const already = keep.has(parent);
		addKeep(parent, {
			rule: 'dependency',
			text: `${set.backupId} (${set.type}) needs it to be restored`,
			textPt: `${set.backupId} (${set.type}) precisa dele para ser restaurado`,
		});
		if (!already) pending.push(parent);
	}

	const decisions: SetDecision[] = [...sets].sort(newestFirst).map((set) => {
		const base = {
			environment: set.environment,
			backupId: set.backupId,
			component: set.component,
			type: set.type,
			startedAt: set.startedAt,
			bytes: set.bytes,
		};
		const reasons = keep.get(set);
		if (reasons) return { ...base, action: 'keep', reasons };
		const state = usability(set);
		if (set.verified && state.invalid)
			return {
				...base,
				action: 'keep',
				reasons: [
					{
						rule: 'needs-invalid-set',
						text: `its chain needs ${state.invalid}, whose manifest is invalid: kept until that set is repaired or removed by hand`,
						textPt: `sua cadeia precisa de ${state.invalid}, cujo manifesto é inválido: mantido até esse backup ser reparado ou removido à mão`,
					},
				],
			};
		const reason: Reason = !set.verified
			? {
					rule: 'damaged',
					text: `damaged and older than the minimum age: ${state.why}`,
					textPt: `danificado e mais velho que a idade mínima: ${state.why}`,
				}
			: !state.ok
				? {
						rule: 'chain-broken',
						text: `cannot be restored: ${state.why}`,
						textPt: `não pode ser restaurado: ${state.why}`,
					}
				: {
						rule: 'not-selected',
						text: 'not among the newest kept by Keep Last / Daily / Weekly / Monthly / Yearly, older than the minimum age, and no kept set depends on it',
						textPt:
							'fora dos mais recentes mantidos por Keep Last / Daily / Weekly / Monthly / Yearly, mais velho que a idade mínima, e nenhum backup mantido depende dele',
					};
		return { ...base, action: 'delete', reasons: [reason] };
	});

	const unfinishedMs = policy.unfinishedAfterHours * 3_600_000;
	const unfinishedDecisions: UnfinishedDecision[] = unfinished.map((u) => {
		const stale = now.getTime() - Date.parse(u.modifiedAt) > unfinishedMs;
		return {
			environment: u.environment,
			backupId: u.backupId,
			modifiedAt: u.modifiedAt,
			bytes: u.bytes ?? 0,
			action: stale ? 'delete' : 'keep',
			reason: stale
				? {
						rule: 'unfinished-stale',
						text: `unfinished (no manifest) and unchanged for more than ${policy.unfinishedAfterHours} hours: an interrupted backup or upload`,
						textPt: `incompleto (sem manifesto) e sem alteração há mais de ${policy.unfinishedAfterHours} horas: um backup ou envio interrompido`,
					}
				: {
						rule: 'unfinished-recent',
						text: `unfinished (no manifest) but changed within ${policy.unfinishedAfterHours} hours: it may still be in progress`,
						textPt: `incompleto (sem manifesto), mas alterado nas últimas ${policy.unfinishedAfterHours} horas: pode estar em andamento`,
					},
		};
	});

	return planTotals(decisions, unfinishedDecisions);
}

/** A plan from its decisions: counts, bytes to delete and the summary sentence. */
export function planTotals(decisions: SetDecision[], unfinishedDecisions: UnfinishedDecision[]): PrunePlan {
	const deleted = [...decisions, ...unfinishedDecisions].filter((d) => d.action === 'delete');
	const deleteBytes = deleted.reduce((sum, d) => sum + d.bytes, 0);
	const keepCount = decisions.filter((d) => d.action === 'keep').length;
	const deleteSets = decisions.length - keepCount;
	const deleteUnfinished = unfinishedDecisions.filter((d) => d.action === 'delete').length;
	return {
		sets: decisions,
		unfinished: unfinishedDecisions,
		keepCount,
		deleteCount: deleted.length,
		deleteBytes,
		summary: `Keep ${countOf(keepCount, 'set')}, delete ${countOf(deleteSets, 'set')} and ${countOf(deleteUnfinished, 'unfinished folder')} (${formatBytes(deleteBytes)})`,
	};
}
