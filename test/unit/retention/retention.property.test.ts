/**
 * Retention rules checked over thousands of random histories: random full / differential /
 * incremental / log chains over random times, some sets damaged or missing (broken chains),
 * random policies and time zones. The expectations are computed here from the rules as
 * written in the issue, independently of core/retention's code.
 */
import fc from 'fast-check';
import type { BackupType } from '../../../core/backup-set/manifest';
import { calendarKeys } from '../../../core/retention/calendar';
import {
	planPrune,
	type PrunePlan,
	type RetentionPolicy,
	type SetSummary,
	type UnfinishedSummary,
} from '../../../core/retention/retention';

const DAY = 86_400_000;
const START = Date.parse('2024-01-01T00:00:00Z');
const runs: Record<string, number> = {};
const count = (name: string) => (runs[name] = (runs[name] ?? 0) + 1);
afterAll(() => console.log(`retention property runs: ${JSON.stringify(runs)}`));

interface History {
	sets: SetSummary[];
	unfinished: UnfinishedSummary[];
	policy: RetentionPolicy;
	now: Date;
}

const step = fc.record({
	environment: fc.constantFrom('prod', 'homolog'),
	component: fc.constantFrom('database', 'files'),
	type: fc.constantFrom<BackupType>('full', 'full', 'differential', 'incremental', 'incremental', 'log'),
	// minutes to ~40 days between backups, so day/week/month/year buckets all get exercised
	gapMs: fc.oneof(fc.integer({ min: 60_000, max: 6 * 3_600_000 }), fc.integer({ min: 3_600_000, max: 40 * DAY })),
	verified: fc.integer({ min: 0, max: 9 }).map((n) => n > 1), // mostly verified
	gone: fc.integer({ min: 0, max: 9 }), // 0 = already removed by hand: breaks chains
	bytes: fc.integer({ min: 1, max: 1e9 }),
});

const policyArb = fc
	.record({
		keepLast: fc.integer({ min: 0, max: 10 }),
		keepDaily: fc.integer({ min: 0, max: 14 }),
		keepWeekly: fc.integer({ min: 0, max: 8 }),
		keepMonthly: fc.integer({ min: 0, max: 12 }),
		keepYearly: fc.integer({ min: 0, max: 3 }),
		minimumAgeDays: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 60 })),
		unfinishedAfterHours: fc.integer({ min: 0, max: 72 }),
		timeZone: fc.constantFrom('UTC', 'America/Sao_Paulo', 'Asia/Kolkata', 'Pacific/Chatham'),
	})
	.filter((p) => p.keepLast + p.keepDaily + p.keepWeekly + p.keepMonthly + p.keepYearly + p.minimumAgeDays > 0);

const historyArb: fc.Arbitrary<History> = fc
	.record({
		steps: fc.array(step, { maxLength: 60 }),
		unfinished: fc.array(
			fc.record({ environment: fc.constantFrom('prod', 'homolog'), ageHours: fc.integer({ min: 0, max: 200 }) }),
			{ maxLength: 4 },
		),
		policy: policyArb,
		nowAfterMs: fc.integer({ min: 0, max: 90 * DAY }),
	})
	.map(({ steps, unfinished, policy, nowAfterMs }) => {
		let time = START;
		const made: SetSummary[] = [];
		const present: SetSummary[] = [];
		steps.forEach((s, i) => {
			time += s.gapMs;
			const group = made.filter((m) => m.environment === s.environment && m.component === s.component);
			const lastFull = [...group].reverse().find((m) => m.type === 'full');
			const last = group[group.length - 1];
			// without a full in the group, a diff/incr points at a set that never existed here
			const type: BackupType = s.type;
			const base = type === 'full' ? null : (lastFull?.backupId ?? `${s.environment}-lost-full`);
			const parent = type === 'full' ? null : type === 'differential' ? base : (last?.backupId ?? base);
			const set: SetSummary = {
				environment: s.environment,
				backupId: `${s.environment}-${String(i).padStart(3, '0')}-${type}`,
				component: s.component,
				type,
				baseBackupId: base,
				parentBackupId: parent,
				startedAt: new Date(time).toISOString(),
				bytes: s.bytes,
				verified: s.verified,
				problem: s.verified ? undefined : 'artifact db.dump: size 10 bytes, expected 20',
			};
			made.push(set);
			if (s.gone !== 0) present.push(set);
		});
		const now = new Date(time + nowAfterMs);
		return {
			sets: present,
			unfinished: unfinished.map((u, i) => ({
				environment: u.environment,
				backupId: `${u.environment}-unfinished-${i}`,
				modifiedAt: new Date(now.getTime() - u.ageHours * 3_600_000).toISOString(),
				bytes: 5,
			})),
			policy,
			now,
		};
	});

/** What the rules say must be kept, computed the plain way. */
function expectedKeep({ sets, policy, now }: History): Set<string> {
	const id = (s: SetSummary) => `${s.environment}/${s.backupId}`;
	const byId = new Map(sets.map((s) => [id(s), s]));
	const needs = (s: SetSummary): SetSummary | undefined => {
		const dep = s.type === 'full' ? null : s.type === 'differential' ? s.baseBackupId : s.parentBackupId;
		return dep ? byId.get(`${s.environment}/${dep}`) : undefined;
	};
	const restorable = (s: SetSummary): boolean => {
		for (let cur: SetSummary | undefined = s; ; cur = needs(cur)) {
			if (!cur || !cur.verified) return false;
			if (cur.type === 'full') return true;
		}
	};
	const justified = new Set<SetSummary>();
	const groups = new Map<string, SetSummary[]>();
	for (const s of sets)
		groups.set(`${s.environment}/${s.component}`, [...(groups.get(`${s.environment}/${s.component}`) ?? []), s]);
	for (const group of groups.values()) {
		const newest = [...group].sort(
			(a, b) => Date.parse(b.startedAt) - Date.parse(a.startedAt) || b.backupId.localeCompare(a.backupId),
		);
		for (const s of newest) if (now.getTime() - Date.parse(s.startedAt) < policy.minimumAgeDays * DAY) justified.add(s);
		const full = newest.find((s) => s.type === 'full' && s.verified);
		if (full) justified.add(full);
		const good = newest.filter(restorable);
		good.slice(0, policy.keepLast).forEach((s) => justified.add(s));
		for (const [period, n] of [
			['day', policy.keepDaily],
			['week', policy.keepWeekly],
			['month', policy.keepMonthly],
			['year', policy.keepYearly],
		] as const) {
			const firstOfBucket = new Map<string, SetSummary>();
			for (const s of good) {
				const key = calendarKeys(new Date(s.startedAt), policy.timeZone ?? 'UTC')[period];
				if (!firstOfBucket.has(key)) firstOfBucket.set(key, s);
			}
			[...firstOfBucket.values()].slice(0, n).forEach((s) => justified.add(s));
		}
	}
	const kept = new Set<string>();
	for (const s of justified)
		for (let cur: SetSummary | undefined = s; cur && !kept.has(id(cur)); cur = needs(cur)) kept.add(id(cur));
	return kept;
}

const keptIds = (plan: PrunePlan) =>
	new Set(plan.sets.filter((d) => d.action === 'keep').map((d) => `${d.environment}/${d.backupId}`));

describe('retention (property tests)', () => {
	it('decides every set once, with reasons, and keeps exactly what the rules require', () => {
		fc.assert(
			fc.property(historyArb, (history) => {
				count('exact-keep-set');
				const plan = planPrune(history.sets, history.unfinished, history.policy, history.now);
				expect(plan.sets).toHaveLength(history.sets.length);
				expect(new Set(plan.sets.map((d) => `${d.environment}/${d.backupId}`)).size).toBe(history.sets.length);
				for (const d of plan.sets) expect(d.reasons.length).toBeGreaterThan(0);
				expect([...keptIds(plan)].sort()).toEqual([...expectedKeep(history)].sort());
			}),
			{ numRuns: 3000 },
		);
	});

	it('never deletes a set a kept set depends on, the newest verified full, or a set younger than the minimum age', () => {
		fc.assert(
			fc.property(historyArb, (history) => {
				count('safety');
				const plan = planPrune(history.sets, history.unfinished, history.policy, history.now);
				const kept = keptIds(plan);
				const byId = new Map(history.sets.map((s) => [`${s.environment}/${s.backupId}`, s]));
				for (const s of history.sets) {
					const key = `${s.environment}/${s.backupId}`;
					if (!kept.has(key)) continue;
					// chain-safe: the base of a differential, the parent of an incremental/log
					const dep = s.type === 'differential' ? s.baseBackupId : s.type === 'full' ? null : s.parentBackupId;
					if (dep && byId.has(`${s.environment}/${dep}`)) expect(kept).toContain(`${s.environment}/${dep}`);
				}
				for (const env of ['prod', 'homolog'])
					for (const component of ['database', 'files']) {
						const fulls = history.sets
							.filter((s) => s.environment === env && s.component === component && s.type === 'full' && s.verified)
							.sort((a, b) => Date.parse(b.startedAt) - Date.parse(a.startedAt));
						if (fulls.length) expect(kept).toContain(`${env}/${fulls[0].backupId}`);
					}
				for (const s of history.sets)
					if (history.now.getTime() - Date.parse(s.startedAt) < history.policy.minimumAgeDays * DAY)
						expect(kept).toContain(`${s.environment}/${s.backupId}`);
				// unfinished: removed exactly when older than the threshold
				for (const u of plan.unfinished) {
					const stale =
						history.now.getTime() - Date.parse(u.modifiedAt) > history.policy.unfinishedAfterHours * 3_600_000;
					expect(u.action).toBe(stale ? 'delete' : 'keep');
				}
				const deleted = [...plan.sets, ...plan.unfinished].filter((d) => d.action === 'delete');
				expect(plan.deleteCount).toBe(deleted.length);
				expect(plan.deleteBytes).toBe(deleted.reduce((sum, d) => sum + d.bytes, 0));
			}),
			{ numRuns: 3000 },
		);
	});

	it('is stable: pruning what it kept deletes nothing more', () => {
		fc.assert(
			fc.property(historyArb, (history) => {
				count('idempotent');
				const first = planPrune(history.sets, [], history.policy, history.now);
				const kept = keptIds(first);
				const second = planPrune(
					history.sets.filter((s) => kept.has(`${s.environment}/${s.backupId}`)),
					[],
					history.policy,
					history.now,
				);
				expect(second.sets.filter((d) => d.action === 'delete')).toEqual([]);
			}),
			{ numRuns: 2000 },
		);
	});

	it('keeps a kept incremental restorable: its whole chain down to the full survives', () => {
		fc.assert(
			fc.property(historyArb, (history) => {
				count('restorable-chains');
				const plan = planPrune(history.sets, [], history.policy, history.now);
				const kept = keptIds(plan);
				const survivors = new Map(
					history.sets
						.filter((s) => kept.has(`${s.environment}/${s.backupId}`))
						.map((s) => [`${s.environment}/${s.backupId}`, s]),
				);
				for (const d of plan.sets) {
					if (
						d.action !== 'keep' ||
						!d.reasons.some((r) => ['last', 'daily', 'weekly', 'monthly', 'yearly'].includes(r.rule))
					)
						continue;
					// a set kept by a count rule was restorable before pruning and still is after it
					let cur = survivors.get(`${d.environment}/${d.backupId}`);
					while (cur && cur.type !== 'full') {
						expect(cur.verified).toBe(true);
						const dep = cur.type === 'differential' ? cur.baseBackupId : cur.parentBackupId;
						cur = survivors.get(`${cur.environment}/${dep}`);
						expect(cur).toBeDefined();
					}
					expect(cur?.verified).toBe(true);
				}
			}),
			{ numRuns: 2000 },
		);
	});
});

describe('retention (examples)', () => {
	const set = (backupId: string, type: BackupType, startedAt: string, extra: Partial<SetSummary> = {}): SetSummary => ({
		environment: 'prod',
		backupId,
		component: 'database',
		type,
		baseBackupId: null,
		parentBackupId: null,
		startedAt,
		bytes: 100,
		verified: true,
		...extra,
	});
	const policy: RetentionPolicy = {
		keepLast: 1,
		keepDaily: 0,
		keepWeekly: 0,
		keepMonthly: 0,
		keepYearly: 0,
		minimumAgeDays: 0,
		unfinishedAfterHours: 24,
	};

	it('keeps the full and differential an incremental needs, and says why', () => {
		const sets = [
			set('f1', 'full', '2026-11-01T02:00:00Z'),
			set('d1', 'differential', '2026-11-02T02:00:00Z', { baseBackupId: 'f1', parentBackupId: 'f1' }),
			set('i1', 'incremental', '2026-11-03T02:00:00Z', { baseBackupId: 'f1', parentBackupId: 'd1' }),
			set('old', 'full', '2026-10-01T02:00:00Z'),
		];
		const plan = planPrune(sets, [], policy, new Date('2026-11-26T00:00:00Z'));
		const by = Object.fromEntries(plan.sets.map((d) => [d.backupId, d]));
		expect(by.i1.reasons.map((r) => r.rule)).toEqual(['last']);
		expect(by.d1).toMatchObject({
			action: 'keep',
			reasons: [{ rule: 'dependency', text: 'i1 (incremental) needs it to be restored' }],
		});
		expect(by.f1.reasons.map((r) => r.rule).sort()).toEqual(['dependency', 'newest-verified-full']);
		expect(by.old).toMatchObject({ action: 'delete', reasons: [{ rule: 'not-selected' }] });
		expect(plan.summary).toBe('Keep 3 sets, delete 1 set and 0 unfinished folders (100 B)');
	});

	it('does not let a damaged newest set take the Keep Last slot', () => {
		const sets = [
			set('f1', 'full', '2026-11-01T02:00:00Z'),
			set('f2', 'full', '2026-11-02T02:00:00Z', { verified: false, problem: 'db.dump: missing' }),
		];
		const plan = planPrune(sets, [], policy, new Date('2026-11-26T00:00:00Z'));
		expect(plan.sets.map((d) => [d.backupId, d.action, d.reasons[0].rule])).toEqual([
			['f2', 'delete', 'damaged'],
			['f1', 'keep', 'newest-verified-full'],
		]);
		expect(plan.sets[0].reasons[0].text).toContain('db.dump: missing');
	});

	it('buckets days in the policy time zone', () => {
		// 01:30 UTC on the 2nd is 22:30 on the 1st in São Paulo: same local day as the 12:00 UTC set
		const sets = [set('a', 'full', '2026-11-01T12:00:00Z'), set('b', 'full', '2026-11-02T01:30:00Z')];
		const daily = { ...policy, keepLast: 0, keepDaily: 2 };
		const now = new Date('2026-11-26T00:00:00Z');
		expect(planPrune(sets, [], { ...daily, timeZone: 'UTC' }, now).deleteCount).toBe(0);
		const local = planPrune(sets, [], { ...daily, timeZone: 'America/Sao_Paulo' }, now);
		expect(local.sets.map((d) => [d.backupId, d.action])).toEqual([
			['b', 'keep'],
			['a', 'delete'],
		]);
		expect(local.sets[0].reasons.map((r) => r.text)).toContain('newest set of day 2026-11-01 (1 of 2 daily kept)');
	});

	it('rejects a policy that keeps nothing, negative counts and unknown time zones', () => {
		const none = { ...policy, keepLast: 0 };
		expect(() => planPrune([], [], none, new Date())).toThrow(/keeps nothing/);
		expect(() => planPrune([], [], { ...policy, keepDaily: -1 }, new Date())).toThrow(/keepDaily/);
		expect(() => planPrune([], [], { ...policy, timeZone: 'Mars/Olympus' }, new Date())).toThrow(
			/Time zone "Mars\/Olympus"/,
		);
	});

	it('computes ISO weeks across a year boundary', () => {
		expect(calendarKeys(new Date('2026-12-31T12:00:00Z'), 'UTC').week).toBe('2026-W53');
		expect(calendarKeys(new Date('2027-01-03T12:00:00Z'), 'UTC').week).toBe('2026-W53');
		expect(calendarKeys(new Date('2027-01-04T12:00:00Z'), 'UTC').week).toBe('2027-W01');
		expect(calendarKeys(new Date('2024-12-30T12:00:00Z'), 'UTC').week).toBe('2025-W01');
	});
});
