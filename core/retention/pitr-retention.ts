import {
	planPrune,
	planTotals,
	type InvalidSetSummary,
	type PrunePlan,
	type Reason,
	type RetentionPolicy,
	type SetDecision,
	type SetSummary,
	type UnfinishedSummary,
} from './retention';

/**
 * Retention for point-in-time sets (engine postgres-pitr), and the entry point Prune uses for
 * every destination. A point-in-time chain is a base backup (full) followed by WAL sets
 * (incremental) every few minutes, so the generic rules would spend Keep Last and the daily
 * slots on WAL sets. Instead:
 * - the GFS rules (Keep Last / Daily / Weekly / Monthly / Yearly, the newest verified base,
 *   the minimum age) choose among the base backups only, per environment, apart from the
 *   logical dumps of the same database;
 * - a WAL set is kept exactly as long as a kept base needs it: while its chain's base is kept
 *   and every set between them is present and verified (a restore to a time after the base
 *   replays them all); after a break it cannot be replayed and is deleted as broken;
 * - a WAL set younger than the minimum age is kept whatever the rules say, and with it every
 *   set it needs, its base included;
 * - as everywhere: a set whose chain reaches an invalid manifest is kept, never deleted for it.
 * Other engines' sets get planPrune's rules unchanged.
 */
export const PITR_ENGINE = 'postgres-pitr';
const BASES = ' (point-in-time bases)';
const DAY_MS = 86_400_000;

const key = (s: { environment: string; backupId: string }) => `${s.environment}/${s.backupId}`;

export function planRetention(
	sets: readonly SetSummary[],
	unfinished: readonly UnfinishedSummary[],
	policy: RetentionPolicy,
	now: Date,
	invalid: readonly InvalidSetSummary[] = [],
): PrunePlan {
	const pitr = sets.filter((s) => s.engine === PITR_ENGINE);
	if (!pitr.length) return planPrune(sets, unfinished, policy, now, invalid);
	const others = planPrune(
		sets.filter((s) => s.engine !== PITR_ENGINE),
		unfinished,
		policy,
		now,
		invalid,
	);
	const decisions = [...others.sets, ...planPitr(pitr, policy, now, invalid)].sort(
		(a, b) => Date.parse(b.startedAt) - Date.parse(a.startedAt) || b.backupId.localeCompare(a.backupId),
	);
	return planTotals(decisions, others.unfinished);
}

function reason(rule: Reason['rule'], text: string, textPt: string): Reason {
	return { rule, text, textPt };
}

function planPitr(
	sets: readonly SetSummary[],
	policy: RetentionPolicy,
	now: Date,
	invalid: readonly InvalidSetSummary[],
): SetDecision[] {
	const byId = new Map(sets.map((s) => [key(s), s]));
	const invalidIds = new Set(invalid.map(key));
	const bases = sets.filter((s) => s.type === 'full');
	const wal = sets.filter((s) => s.type !== 'full');
	const young = (s: SetSummary) => now.getTime() - Date.parse(s.startedAt) < policy.minimumAgeDays * DAY_MS;

	// GFS over the bases alone, in a group of their own (the component is given back below).
	const basePlan = planPrune(
		bases.map((b) => ({ ...b, component: `${b.component}${BASES}` })),
		[],
		policy,
		now,
	);
	const decided = new Map<string, SetDecision>();
	for (const d of basePlan.sets) decided.set(key(d), { ...d, component: d.component.slice(0, -BASES.length) });

	/** The chain from a WAL set down to its base: ok, or where it breaks (missing, damaged, invalid). */
	const chainOf = (set: SetSummary) => {
		const links: SetSummary[] = [];
		const seen = new Set<string>();
		for (let cur: SetSummary = set; ;) {
			links.push(cur);
			if (!cur.verified) return { links, broken: `${cur.backupId} is damaged (${cur.problem ?? 'not verified'})` };
			if (cur.type === 'full') return { links, base: cur };
			const needed = cur.parentBackupId ?? cur.baseBackupId;
			if (!needed) return { links, broken: `${cur.backupId} names no set it continues` };
			const id = `${cur.environment}/${needed}`;
			if (invalidIds.has(id)) return { links, invalid: needed };
			const parent = byId.get(id);
			if (!parent || seen.has(id)) return { links, broken: `it needs ${needed}, which is not on the destination` };
			seen.add(id);
			cur = parent;
		}
	};

	const keep = new Map<string, Reason[]>();
	const addKeep = (s: SetSummary, r: Reason) => keep.set(key(s), [...(keep.get(key(s)) ?? []), r]);
	const baseKept = (id: string) => decided.get(id)?.action === 'keep' || keep.has(id);
	// Young WAL sets first: they keep their whole chain, base included (chain safety).
	for (const s of wal)
		if (young(s)) {
			addKeep(
				s,
				reason(
					'minimum-age',
					`younger than the minimum age of ${policy.minimumAgeDays} days`,
					`mais novo que a idade mínima de ${policy.minimumAgeDays} dias`,
				),
			);
			const { links } = chainOf(s);
			for (const link of links.slice(1)) {
				addKeep(
					link,
					reason(
						'dependency',
						`${s.backupId} (WAL) needs it to be restored`,
						`${s.backupId} (WAL) precisa dele para ser restaurado`,
					),
				);
			}
			// A chain that breaks before its base: keep whatever stands between (it may be repaired).
		}
	const verdicts = new Map<string, SetDecision>();
	for (const s of wal) {
		const base = {
			environment: s.environment,
			backupId: s.backupId,
			component: s.component,
			type: s.type,
			startedAt: s.startedAt,
			bytes: s.bytes,
		};
		const chain = chainOf(s);
		const baseId = chain.base ? key(chain.base) : s.baseBackupId ? `${s.environment}/${s.baseBackupId}` : '';
		const reasons = keep.get(key(s)) ?? [];
		if (chain.base && baseKept(baseId))
			reasons.push(
				reason(
					'dependency',
					`WAL of kept base ${chain.base.backupId}: a restore to a time after it replays this set`,
					`WAL da base mantida ${chain.base.backupId}: uma restauração para um momento depois dela aplica este backup`,
				),
			);
		if (chain.invalid && s.verified)
			reasons.push(
				reason(
					'needs-invalid-set',
					`its chain needs ${chain.invalid}, whose manifest is invalid: kept until that set is repaired or removed by hand`,
					`sua cadeia precisa de ${chain.invalid}, cujo manifesto é inválido: mantido até esse backup ser reparado ou removido à mão`,
				),
			);
		if (reasons.length) {
			verdicts.set(key(s), { ...base, action: 'keep', reasons });
			continue;
		}
		const why = !s.verified
			? reason(
					'damaged',
					`damaged and older than the minimum age: ${s.problem ?? 'not verified'}`,
					`danificado e mais velho que a idade mínima: ${s.problem ?? 'não verificado'}`,
				)
			: chain.broken
				? reason('chain-broken', `cannot be restored: ${chain.broken}`, `não pode ser restaurado: ${chain.broken}`)
				: reason(
						'not-selected',
						`its base backup ${chain.base?.backupId ?? s.baseBackupId} is not kept, and the WAL is only needed with it`,
						`sua base ${chain.base?.backupId ?? s.baseBackupId} não é mantida, e o WAL só serve com ela`,
					);
		verdicts.set(key(s), { ...base, action: 'delete', reasons: [why] });
	}
	// Bases a young WAL set needs, though the rules did not choose them.
	for (const [id, reasons] of keep) {
		const d = decided.get(id);
		if (d && d.action === 'delete') decided.set(id, { ...d, action: 'keep', reasons });
	}
	return [...decided.values(), ...verdicts.values()];
}
