/**
 * Point-in-time retention over random histories: per environment, base backups now and then
 * and WAL sets every few minutes to days, some damaged or removed by hand (broken chains), some
 * manifests invalid, logical dumps mixed in, random policies and time zones. The expectations
 * are computed here from the rules (GFS on bases; WAL kept exactly as long as a kept base needs
 * it; the minimum age; chain safety), independently of core/retention's code.
 */
import fc from 'fast-check';
import { calendarKeys } from '../../../core/retention/calendar';
import { planRetention } from '../../../core/retention/pitr-retention';
import {
	planPrune,
	type InvalidSetSummary,
	type PrunePlan,
	type RetentionPolicy,
	type SetSummary,
} from '../../../core/retention/retention';

const DAY = 86_400_000;
const START = Date.parse('2025-01-01T00:00:00Z');

interface History {
	sets: SetSummary[];
	invalid: InvalidSetSummary[];
	policy: RetentionPolicy;
	now: Date;
}

const step = fc.record({
	environment: fc.constantFrom('prod', 'homolog'),
	kind: fc.integer({ min: 0, max: 19 }), // 0-1: base, 2: logical dump, else WAL
	gapMs: fc.oneof(fc.integer({ min: 60_000, max: 3_600_000 }), fc.integer({ min: 3_600_000, max: 20 * DAY })),
	verified: fc.integer({ min: 0, max: 19 }).map((n) => n > 0),
	fate: fc.integer({ min: 0, max: 29 }), // 0: removed by hand, 1: manifest invalid
	bytes: fc.integer({ min: 1, max: 1e9 }),
});

const policyArb = fc
	.record({
		keepLast: fc.integer({ min: 0, max: 5 }),
		keepDaily: fc.integer({ min: 0, max: 7 }),
		keepWeekly: fc.integer({ min: 0, max: 4 }),
		keepMonthly: fc.integer({ min: 0, max: 6 }),
		keepYearly: fc.integer({ min: 0, max: 2 }),
		minimumAgeDays: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 20 })),
		unfinishedAfterHours: fc.constant(24),
		timeZone: fc.constantFrom('UTC', 'America/Sao_Paulo'),
	})
	.filter((p) => p.keepLast + p.keepDaily + p.keepWeekly + p.keepMonthly + p.keepYearly + p.minimumAgeDays > 0);

const historyArb: fc.Arbitrary<History> = fc
	.record({
		steps: fc.array(step, { maxLength: 80 }),
		policy: policyArb,
		nowAfterMs: fc.integer({ min: 0, max: 40 * DAY }),
	})
	.map(({ steps, policy, nowAfterMs }) => {
		let time = START;
		const sets: SetSummary[] = [];
		const invalid: InvalidSetSummary[] = [];
		const last: Record<string, { base?: string; previous?: string }> = {};
		steps.forEach((s, i) => {
			time += s.gapMs;
			const chain = (last[s.environment] ??= {});
			const kind = s.kind < 2 || !chain.base ? 'base' : s.kind === 2 ? 'logical' : 'wal';
			const backupId = `${s.environment}-${String(i).padStart(3, '0')}-${kind}`;
			const set: SetSummary = {
				environment: s.environment,
				backupId,
				component: 'database',
				type: kind === 'wal' ? 'incremental' : 'full',
				baseBackupId: kind === 'wal' ? chain.base! : null,
				parentBackupId: kind === 'wal' ? chain.previous! : null,
				startedAt: new Date(time).toISOString(),
				bytes: s.bytes,
				verified: s.verified,
				problem: s.verified ? undefined : 'wal/000000010000000000000003.gz: size 10 bytes, expected 20',
				engine: kind === 'logical' ? 'postgres' : 'postgres-pitr',
			};
			if (kind === 'base') last[s.environment] = { base: backupId, previous: backupId };
			if (kind === 'wal') chain.previous = backupId;
			if (s.fate === 1) invalid.push({ environment: s.environment, backupId, reason: 'manifest.json: not valid JSON' });
			else if (s.fate !== 0) sets.push(set);
		});
		return { sets, invalid, policy, now: new Date(time + nowAfterMs) };
	});

const id = (s: { environment: string; backupId: string }) => `${s.environment}/${s.backupId}`;
const keptIds = (plan: PrunePlan) => new Set(plan.sets.filter((d) => d.action === 'keep').map(id));

/** What the rules say must be kept among the point-in-time sets, the plain way. */
function expectedPitrKeep({ sets, invalid, policy, now }: History): Set<string> {
	const pitr = sets.filter((s) => s.engine === 'postgres-pitr');
	const byId = new Map(pitr.map((s) => [id(s), s]));
	const invalidIds = new Set(invalid.map(id));
	const young = (s: SetSummary) => now.getTime() - Date.parse(s.startedAt) < policy.minimumAgeDays * DAY;
	const parentOf = (s: SetSummary) => (s.parentBackupId ? byId.get(`${s.environment}/${s.parentBackupId}`) : undefined);
	const kept = new Set<string>();
	// GFS over verified bases, per environment.
	for (const env of ['prod', 'homolog']) {
		const bases = pitr
			.filter((s) => s.environment === env && s.type === 'full')
			.sort((a, b) => Date.parse(b.startedAt) - Date.parse(a.startedAt) || b.backupId.localeCompare(a.backupId));
		for (const b of bases) if (young(b)) kept.add(id(b));
		const good = bases.filter((b) => b.verified);
		if (good[0]) kept.add(id(good[0]));
		good.slice(0, policy.keepLast).forEach((b) => kept.add(id(b)));
		for (const [period, n] of [
			['day', policy.keepDaily],
			['week', policy.keepWeekly],
			['month', policy.keepMonthly],
			['year', policy.keepYearly],
		] as const) {
			const first = new Map<string, SetSummary>();
			for (const b of good) {
				const k = calendarKeys(new Date(b.startedAt), policy.timeZone ?? 'UTC')[period];
				if (!first.has(k)) first.set(k, b);
			}
			[...first.values()].slice(0, n).forEach((b) => kept.add(id(b)));
		}
	}
	// Young WAL sets and everything present below them.
	for (const s of pitr)
		if (s.type !== 'full' && young(s))
			for (
				let cur: SetSummary | undefined = s;
				cur;
				cur = cur.verified && cur.type !== 'full' ? parentOf(cur) : undefined
			) {
				kept.add(id(cur));
				if (!cur.verified) break;
			}
	// WAL of a kept base with an intact chain to it; or whose chain reaches an invalid manifest.
	for (const s of pitr) {
		if (s.type === 'full') continue;
		let cur: SetSummary | undefined = s;
		while (cur && cur.verified && cur.type !== 'full') {
			const next = parentOf(cur);
			if (!next && invalidIds.has(`${cur.environment}/${cur.parentBackupId}`)) {
				if (s.verified) kept.add(id(s));
				break;
			}
			cur = next;
		}
		if (cur && cur.verified && cur.type === 'full' && kept.has(id(cur))) kept.add(id(s));
	}
	return kept;
}

const properties = { numRuns: 2000 };

test('point-in-time sets: GFS on bases, WAL exactly as long as a kept base needs it, the minimum age', () => {
	fc.assert(
		fc.property(historyArb, (history) => {
			const plan = planRetention(history.sets, [], history.policy, history.now, history.invalid);
			expect(plan.sets).toHaveLength(history.sets.length);
			for (const d of plan.sets) expect(d.reasons.length).toBeGreaterThan(0);
			const kept = keptIds(plan);
			const pitrKept = new Set(
				[...kept].filter((k) => history.sets.find((s) => id(s) === k)?.engine === 'postgres-pitr'),
			);
			expect([...pitrKept].sort()).toEqual([...expectedPitrKeep(history)].sort());
		}),
		properties,
	);
});

test('chain safety: a kept WAL set has every set below it down to its base kept, when they are present', () => {
	fc.assert(
		fc.property(historyArb, (history) => {
			const kept = keptIds(planRetention(history.sets, [], history.policy, history.now, history.invalid));
			const byId = new Map(history.sets.map((s) => [id(s), s]));
			for (const s of history.sets) {
				if (s.engine !== 'postgres-pitr' || s.type === 'full' || !kept.has(id(s)) || !s.verified) continue;
				const parent = byId.get(`${s.environment}/${s.parentBackupId}`);
				if (parent) expect(kept).toContain(id(parent));
			}
		}),
		properties,
	);
});

test('logical dumps beside point-in-time sets get the generic rules unchanged; pruning what was kept deletes nothing more', () => {
	fc.assert(
		fc.property(historyArb, (history) => {
			const plan = planRetention(history.sets, [], history.policy, history.now, history.invalid);
			const logical = history.sets.filter((s) => s.engine !== 'postgres-pitr');
			const alone = planPrune(logical, [], history.policy, history.now, history.invalid);
			expect(plan.sets.filter((d) => logical.some((s) => id(s) === id(d)))).toEqual(alone.sets);
			const kept = keptIds(plan);
			const again = planRetention(
				history.sets.filter((s) => kept.has(id(s))),
				[],
				history.policy,
				history.now,
				history.invalid,
			);
			expect(again.deleteCount).toBe(0);
			expect(plan.deleteBytes).toBe(plan.sets.filter((d) => d.action === 'delete').reduce((n, d) => n + d.bytes, 0));
		}),
		properties,
	);
});
