/**
 * TOTVS Monitor's judgement (core/monitor/evaluate.ts): every status rule, at its boundaries,
 * from readings built by hand.
 */
import {
	DEFAULT_THRESHOLDS,
	evaluateMonitor,
	monitorSummary,
	resolveThresholds,
	type EnvironmentResult,
	type MonitorInput,
	type ReasonCode,
} from '../../../core/monitor';
import { DAY, HOUR, NOW, ago, destination, env, healthy, restoreTest, set } from './readings';

const MIN = 60_000;

function evaluate(input: Partial<MonitorInput> & Pick<MonitorInput, 'destinations'>): EnvironmentResult[] {
	return evaluateMonitor({ now: NOW, ...input });
}

function one(input: Partial<MonitorInput> & Pick<MonitorInput, 'destinations'>): EnvironmentResult {
	const results = evaluate(input);
	expect(results).toHaveLength(1);
	return results[0];
}

const codes = (result: EnvironmentResult) => result.reasons.map((r) => r.code);
const codesOf = (result: EnvironmentResult, code: ReasonCode) => result.reasons.filter((r) => r.code === code);

describe('a healthy environment', () => {
	it('is ok with no reasons, and its figures', () => {
		const reading = healthy();
		const result = one({ destinations: [destination('sftp://a', [reading])] });
		expect(result).toMatchObject({ environment: 'prod', status: 'ok', reasons: [], checkedAt: NOW.toISOString() });
		expect(result.figures.newest).toEqual([
			{
				engine: 'postgres',
				component: 'database',
				type: 'full',
				backupId: reading.sets[0].backupId,
				startedAt: reading.sets[0].startedAt,
				ageSeconds: 2 * 3600,
				bytes: 1000,
				copies: 1,
				destinations: ['sftp://a'],
			},
		]);
		expect(result.figures).toMatchObject({
			copies: 1,
			requiredCopies: 1,
			completeSets: 1,
			chains: [{ engine: 'postgres', length: 1, fullBackupId: reading.sets[0].backupId }],
			restoreTests: {
				count: 1,
				newestPassed: { ageSeconds: 3600 },
				last: { passed: true, rtoMs: 5 * MIN },
				rto: { samples: [{ rtoMs: 5 * MIN }], latestMs: 5 * MIN, previousMedianMs: null, changePercent: null },
			},
			destinations: [{ destination: 'sftp://a', reachable: true, sets: 1 }],
		});
	});

	it('has an English and a Portuguese summary', () => {
		const result = one({ destinations: [destination('sftp://a', [healthy()])] });
		expect(monitorSummary(result, 'en')).toMatch(
			/^prod: OK: newest backup prod-\S+ 2\.0 h old, on 1 destination; last restore test passed 60 min ago\.$/,
		);
		expect(monitorSummary(result, 'pt-BR')).toMatch(
			/^prod: OK: backup mais recente .* há 2,0 h, em 1 destino; último teste/,
		);
	});
});

describe('never backed up', () => {
	it('a named environment with nothing on any destination is critical', () => {
		const result = one({ destinations: [destination('sftp://a', [])], environments: ['prod'] });
		expect(result.status).toBe('critical');
		expect(codes(result)).toEqual(['never-backed-up']);
		expect(result.reasons[0].en).toMatch(/Never backed up: no backup set of prod/);
		expect(result.reasons[0].ptBR).toMatch(/Nunca houve backup/);
	});

	it('only unfinished or invalid sets is never backed up too', () => {
		const reading = env({
			unfinished: [{ backupId: 'prod-20261126T020000Z-full-db', modifiedAt: ago(HOUR).toISOString(), bytes: 5 }],
			invalid: [{ backupId: 'prod-20261125T020000Z-full-db', reason: 'bad' }],
		});
		const result = one({ destinations: [destination('sftp://a', [reading])] });
		expect(result.status).toBe('critical');
		expect(codes(result)).toEqual(['never-backed-up', 'invalid-set']);
	});

	it("nothing found anywhere and no environment named: one '*' result", () => {
		const result = one({ destinations: [destination('sftp://a', [])] });
		expect(result).toMatchObject({ environment: '*', status: 'critical' });
		expect(codes(result)).toEqual(['never-backed-up']);
	});

	it('is not claimed when no destination could be read: the unreachable one is the reason', () => {
		const result = one({ destinations: [destination('sftp://a', [], 'connection refused')], environments: ['prod'] });
		expect(codes(result)).toEqual(['destination-unreachable']);
	});
});

describe('unreachable destinations', () => {
	it('an unreachable destination is critical, names it, and the others still count', () => {
		const result = one({
			destinations: [destination('sftp://a', [healthy()]), destination('ftp://b', [], 'ECONNREFUSED 127.0.0.1:21')],
			thresholds: { minCopies: 1 },
		});
		expect(result.status).toBe('critical');
		expect(codes(result)).toEqual(['destination-unreachable']);
		expect(result.reasons[0]).toMatchObject({ destination: 'ftp://b', severity: 'critical' });
		expect(result.reasons[0].en).toBe('Destination ftp://b could not be read: ECONNREFUSED 127.0.0.1:21');
		expect(result.figures.destinations).toEqual([
			{ destination: 'sftp://a', reachable: true, sets: 1 },
			{ destination: 'ftp://b', reachable: false, error: 'ECONNREFUSED 127.0.0.1:21', sets: 0 },
		]);
		expect(result.figures.newest).toHaveLength(1);
	});

	it('an error reading one environment on a destination is critical for that environment only', () => {
		const other = { ...healthy(), environment: 'homolog' };
		const results = evaluate({
			destinations: [destination('sftp://a', [env({ environment: 'prod', error: 'permission denied' }), other])],
		});
		expect(results.map((r) => [r.environment, r.status, codes(r)])).toEqual([
			['homolog', 'ok', []],
			['prod', 'critical', ['destination-unreachable']],
		]);
	});
});

describe('age of the newest good set', () => {
	const withFullAt = (ms: number) => {
		const full = set('full', ago(ms));
		return env({ sets: [full], restoreTests: [restoreTest(full.backupId, ago(HOUR), true)] });
	};

	it('a full exactly 26 h old is ok; one second more is critical', () => {
		expect(one({ destinations: [destination('a', [withFullAt(26 * HOUR)])] }).status).toBe('ok');
		const late = one({ destinations: [destination('a', [withFullAt(26 * HOUR + 1000)])] });
		expect(late.status).toBe('critical');
		expect(codes(late)).toEqual(['stale-backup']);
		expect(late.reasons[0]).toMatchObject({ engine: 'postgres', type: 'full' });
		expect(late.reasons[0].en).toMatch(/^The newest full of postgres \(prod-\S+\) is 26\.0 h old, over the 26 h limit/);
		expect(late.reasons[0].ptBR).toMatch(
			/^O backup full mais recente de postgres .* tem 26,0 h, acima do limite de 26 h/,
		);
	});

	it('the limit is a parameter; 0 switches it off', () => {
		expect(
			one({ destinations: [destination('a', [withFullAt(30 * HOUR)])], thresholds: { maxAgeHours: { full: 31 } } })
				.status,
		).toBe('ok');
		expect(
			one({ destinations: [destination('a', [withFullAt(300 * HOUR)])], thresholds: { maxAgeHours: { full: 0 } } })
				.status,
		).toBe('ok');
	});

	it('a newer damaged full does not count: the good one is older than the limit', () => {
		const good = set('full', ago(30 * HOUR));
		const damaged = set('full', ago(2 * HOUR), { complete: false, problem: 'protheus.dump: missing' });
		const result = one({
			destinations: [
				destination('a', [env({ sets: [good, damaged], restoreTests: [restoreTest(good.backupId, ago(HOUR), true)] })]),
			],
		});
		expect(codes(result)).toEqual(['stale-backup', 'damaged-set']);
		expect(result.figures.newest[0].backupId).toBe(good.backupId);
		expect(result.figures.damaged).toEqual([
			{ destination: 'a', backupId: damaged.backupId, problem: 'protheus.dump: missing' },
		]);
	});

	it('only damaged sets: no good backup, critical', () => {
		const damaged = set('full', ago(2 * HOUR), { complete: false, problem: 'x: missing' });
		const result = one({ destinations: [destination('a', [env({ sets: [damaged] })])] });
		expect(result.status).toBe('critical');
		expect(codes(result)).toEqual(['no-good-backup', 'damaged-set', 'never-restore-tested']);
	});

	it('other types are checked only when given a limit and only for engines that make them', () => {
		const full = set('full', ago(50 * HOUR));
		const diff = set('differential', ago(30 * HOUR), { base: full });
		const files = set('full', ago(2 * HOUR), { engine: 'protheus-files' });
		const reading = env({ sets: [full, diff, files], restoreTests: [restoreTest(files.backupId, ago(HOUR), true)] });
		const result = one({
			destinations: [destination('a', [reading])],
			thresholds: { maxAgeHours: { full: 0, differential: 26 } },
		});
		expect(codes(result)).toEqual(['stale-backup']);
		expect(result.reasons[0]).toMatchObject({ engine: 'postgres', type: 'differential' });
		// The file tree makes no differentials: its missing differential is not a reason.
		expect(result.figures.newest.map((n) => `${n.engine}/${n.type}`)).toEqual([
			'postgres/full',
			'postgres/differential',
			'protheus-files/full',
		]);
	});

	it('a full limit applies to every engine with sets, even when the engine has no full at all', () => {
		const log = set('log', ago(HOUR), { engine: 'sqlserver', parentBackupId: null });
		const full = set('full', ago(2 * HOUR));
		const result = one({
			destinations: [
				destination('a', [env({ sets: [full, log], restoreTests: [restoreTest(full.backupId, ago(HOUR), true)] })]),
			],
		});
		// The log (type log, no parent) is restorable on its own here, so SQL Server has a good set but no full.
		expect(codesOf(result, 'no-good-backup')).toMatchObject([{ engine: 'sqlserver', type: 'full' }]);
	});
});

describe('chains', () => {
	it('a differential whose full is missing cannot be restored: warning, and it is not the newest good one', () => {
		const full = set('full', ago(10 * HOUR));
		const gone = set('full', ago(40 * HOUR));
		const diff = set('differential', ago(2 * HOUR), { base: gone });
		const result = one({
			destinations: [
				destination('a', [env({ sets: [full, diff], restoreTests: [restoreTest(full.backupId, ago(HOUR), true)] })]),
			],
		});
		expect(result.status).toBe('warning');
		expect(codes(result)).toEqual(['chain-broken']);
		expect(result.reasons[0].en).toContain(`it needs ${gone.backupId}, which is not on the destination`);
		expect(result.figures.newest.map((n) => n.type)).toEqual(['full']);
		expect(result.figures.chains).toEqual([
			{
				engine: 'postgres',
				component: 'database',
				newestBackupId: full.backupId,
				length: 1,
				fullBackupId: full.backupId,
			},
		]);
	});

	it('a chain split over two destinations is no good copy on either', () => {
		const full = set('full', ago(10 * HOUR));
		const incr = set('incremental', ago(2 * HOUR), { base: full });
		const result = one({
			destinations: [destination('a', [env({ sets: [full] })]), destination('b', [env({ sets: [incr] })])],
			thresholds: { maxRestoreTestAgeDays: 0, minCopies: 1 },
		});
		expect(codes(result)).toEqual(['chain-broken']);
	});

	it('chain length counts the sets a restore of the newest needs; the limit is exclusive', () => {
		const full = set('full', ago(10 * HOUR));
		const i1 = set('incremental', ago(8 * HOUR), { base: full });
		const i2 = set('incremental', ago(6 * HOUR), { base: i1 });
		const i3 = set('incremental', ago(4 * HOUR), { base: i2 });
		const reading = env({ sets: [full, i1, i2, i3], restoreTests: [restoreTest(i3.backupId, ago(HOUR), true)] });
		const at = (maxChainLength: number) =>
			one({ destinations: [destination('a', [reading])], thresholds: { maxChainLength } });
		expect(at(4).status).toBe('ok');
		expect(at(4).figures.chains).toEqual([
			{
				engine: 'postgres',
				component: 'database',
				newestBackupId: i3.backupId,
				length: 4,
				fullBackupId: full.backupId,
			},
		]);
		expect(codes(at(3))).toEqual(['chain-too-long']);
		expect(at(3).reasons[0].en).toContain('needs a chain of 4 sets, more than 3');
		expect(at(0).status).toBe('ok');
	});
});

describe('copies (3-2-1)', () => {
	const full = set('full', ago(2 * HOUR));
	const older = set('full', ago(26 * HOUR));
	const tests = [restoreTest(full.backupId, ago(HOUR), true)];

	it('by default every destination read must hold the newest good set', () => {
		const result = one({
			destinations: [
				destination('sftp://a', [env({ sets: [older, full], restoreTests: tests })]),
				destination('ftp://b', [env({ sets: [older] })]),
			],
		});
		expect(result.status).toBe('warning');
		expect(codes(result)).toEqual(['too-few-copies']);
		expect(result.reasons[0].en).toMatch(/has 1 good copy, 2 wanted \(3-2-1\); not on ftp:\/\/b$/);
		expect(result.figures).toMatchObject({ copies: 1, requiredCopies: 2 });
	});

	it('exactly the minimum is ok, one fewer is a warning', () => {
		const destinations = [
			destination('a', [env({ sets: [full], restoreTests: tests })]),
			destination('b', [env({ sets: [full] })]),
			destination('c', [env({ sets: [older] })]),
		];
		expect(one({ destinations, thresholds: { minCopies: 2 } }).status).toBe('ok');
		expect(codes(one({ destinations, thresholds: { minCopies: 3 } }))).toEqual(['too-few-copies']);
	});

	it('a damaged copy is not a copy', () => {
		const damaged = { ...full, complete: false, problem: 'protheus.dump: 3 bytes, expected 1000' };
		const result = one({
			destinations: [
				destination('a', [env({ sets: [full], restoreTests: tests })]),
				destination('b', [env({ sets: [damaged] })]),
			],
		});
		expect(codes(result)).toEqual(['damaged-set', 'too-few-copies']);
		expect(result.figures.newest[0]).toMatchObject({ copies: 1, destinations: ['a'] });
	});
});

describe('restore tests', () => {
	const full = set('full', ago(2 * HOUR));
	const reading = (...tests: ReturnType<typeof restoreTest>[]) => env({ sets: [full], restoreTests: tests });
	const run = (input: Partial<MonitorInput> & Pick<MonitorInput, 'destinations'>) => one(input);

	it('the last test failed: critical, even with an older pass', () => {
		const result = run({
			destinations: [
				destination('a', [
					reading(restoreTest(full.backupId, ago(HOUR), false), restoreTest(full.backupId, ago(DAY), true)),
				]),
			],
		});
		expect(result.status).toBe('critical');
		expect(codes(result)).toEqual(['restore-test-failed']);
		expect(result.figures.restoreTests).toMatchObject({
			count: 2,
			last: { passed: false, ageSeconds: 3600 },
			newestPassed: { ageSeconds: 86400 },
		});
	});

	it('a pass after a failure clears it', () => {
		const result = run({
			destinations: [
				destination('a', [
					reading(restoreTest(full.backupId, ago(HOUR), true), restoreTest(full.backupId, ago(DAY), false)),
				]),
			],
		});
		expect(result.status).toBe('ok');
	});

	it('the newest pass exactly 8 days old is ok; one second more is a warning', () => {
		const at = (ms: number) =>
			run({ destinations: [destination('a', [reading(restoreTest(full.backupId, ago(ms), true))])] });
		expect(at(8 * DAY).status).toBe('ok');
		const late = at(8 * DAY + 1000);
		expect(late.status).toBe('warning');
		expect(codes(late)).toEqual(['restore-test-stale']);
		expect(late.reasons[0].en).toMatch(/is 8\.0 days old, over the 8-day limit$/);
	});

	it('never tested, or never passed: a warning; a limit of 0 switches it off', () => {
		expect(codes(run({ destinations: [destination('a', [reading()])] }))).toEqual(['never-restore-tested']);
		const onlyFailed = run({
			destinations: [destination('a', [reading(restoreTest(full.backupId, ago(DAY * 20), false))])],
		});
		expect(codes(onlyFailed)).toEqual(['restore-test-failed', 'never-restore-tested']);
		expect(onlyFailed.reasons[1].en).toBe('No restore test has ever passed: no backup was proven to restore');
		expect(
			run({ destinations: [destination('a', [reading()])], thresholds: { maxRestoreTestAgeDays: 0 } }).status,
		).toBe('ok');
	});

	it('the same record on two destinations counts once; an invalid record is a warning and is ignored', () => {
		const passed = restoreTest(full.backupId, ago(HOUR), true, 60_000);
		const forged = restoreTest(full.backupId, ago(MIN), false, undefined, {
			invalid: 'field passed: expected true or false',
		});
		const result = run({
			destinations: [
				destination('a', [env({ sets: [full], restoreTests: [forged, passed] })]),
				destination('b', [env({ sets: [full], restoreTests: [{ ...passed, rtoMs: undefined }] })]),
			],
		});
		expect(result.figures.restoreTests.count).toBe(1);
		expect(result.figures.restoreTests.last).toMatchObject({ passed: true, rtoMs: 60_000 });
		expect(codes(result)).toEqual(['invalid-restore-record']);
		expect(result.reasons[0]).toMatchObject({ destination: 'a', severity: 'warning' });
	});

	describe('RTO', () => {
		const history = (...minutes: number[]) =>
			minutes.map((m, i) => restoreTest(full.backupId, ago((minutes.length - i) * DAY), true, m * MIN)).reverse();
		const rto = (tests: ReturnType<typeof restoreTest>[], thresholds: MonitorInput['thresholds'] = {}) =>
			run({
				destinations: [destination('a', [reading(...tests)])],
				thresholds: { maxRestoreTestAgeDays: 0, ...thresholds },
			});

		it('samples oldest first, the latest and the median before it', () => {
			const result = rto(history(10, 12, 11, 13));
			expect(result.figures.restoreTests.rto).toEqual({
				samples: expect.arrayContaining([]),
				latestMs: 13 * MIN,
				previousMedianMs: 11 * MIN,
				changePercent: (2 / 11) * 100,
			});
			expect(result.figures.restoreTests.rto.samples.map((s) => s.rtoMs / MIN)).toEqual([10, 12, 11, 13]);
		});

		it('over the limit: warning; at the limit: ok', () => {
			expect(rto(history(30), { maxRtoMinutes: 30 }).status).toBe('ok');
			expect(codes(rto(history(31), { maxRtoMinutes: 30 }))).toEqual(['rto-over-limit']);
		});

		it('a jump of the percentage over the median of three or more earlier tests is a warning', () => {
			expect(codes(rto(history(10, 10, 10, 15)))).toEqual(['rto-jump']);
			expect(rto(history(10, 10, 10, 14.9)).status).toBe('ok');
			// Two earlier tests are not a trend.
			expect(rto(history(10, 10, 30)).status).toBe('ok');
			// Seconds on a small database: under a minute of difference is noise.
			expect(rto(history(0.05, 0.05, 0.05, 0.5)).status).toBe('ok');
			expect(rto(history(10, 10, 10, 30), { rtoJumpPercent: 0 }).status).toBe('ok');
		});

		it('the trend looks at the last N passed tests only', () => {
			const result = rto(history(100, 100, 100, 10, 10, 10, 15), { trendLength: 4 });
			expect(result.figures.restoreTests.rto.samples.map((s) => s.rtoMs / MIN)).toEqual([10, 10, 10, 15]);
			expect(codes(result)).toEqual(['rto-jump']);
		});
	});
});

describe('size trend', () => {
	const fulls = (...sizes: number[]) =>
		sizes.map((bytes, i) => set('full', ago((sizes.length - i) * DAY - DAY + 2 * HOUR), { bytes }));
	const run = (sets: ReturnType<typeof set>[], thresholds: MonitorInput['thresholds'] = {}) =>
		one({
			destinations: [destination('a', [env({ sets })])],
			thresholds: { maxRestoreTestAgeDays: 0, ...thresholds },
		});

	it('a full that shrank by half is critical (boundary included)', () => {
		const result = run(fulls(1000, 1000, 1000, 500));
		expect(result.status).toBe('critical');
		expect(codes(result)).toEqual(['size-drop']);
		expect(result.reasons[0].en).toMatch(/is 500 B, 50% smaller than the usual 1000 B: data may be missing/);
		expect(run(fulls(1000, 1000, 1000, 501)).status).toBe('ok');
	});

	it('a full that grew by the percentage is a warning', () => {
		expect(codes(run(fulls(1000, 1000, 1500)))).toEqual(['size-jump']);
		expect(run(fulls(1000, 1000, 1499)).status).toBe('ok');
	});

	it('compares with the median, so one odd set before does not hide or cause an alarm', () => {
		expect(run(fulls(1000, 1000, 10, 1000, 1000)).status).toBe('ok');
		expect(codes(run(fulls(1000, 1000, 10, 1000, 400)))).toEqual(['size-drop']);
	});

	it('the figures: samples oldest first, latest, median, change', () => {
		const sizes = run(fulls(1000, 2000, 3000)).figures.sizes;
		expect(sizes).toHaveLength(1);
		expect(sizes[0]).toMatchObject({
			engine: 'postgres',
			type: 'full',
			latestBytes: 3000,
			previousMedianBytes: 1500,
			changePercent: 100,
		});
		expect(sizes[0].samples.map((s) => s.bytes)).toEqual([1000, 2000, 3000]);
	});

	it('only fulls are judged: differentials vary with the day', () => {
		const [full] = fulls(1000);
		const diffs = [4000, 4000, 100].map((bytes, i) => set('differential', ago((3 - i) * HOUR), { bytes, base: full }));
		expect(run([full, ...diffs]).status).toBe('ok');
	});

	it('a first full has nothing to compare with; a percentage of 0 switches the rule off', () => {
		expect(run(fulls(1)).status).toBe('ok');
		expect(run(fulls(1000, 1000, 1), { sizeJumpPercent: 0 }).status).toBe('ok');
	});
});

describe('unfinished sets, invalid sets, locks', () => {
	const base = healthy();
	const unfinished = (hours: number) => ({
		backupId: 'prod-20261126T020000Z-full-files',
		modifiedAt: ago(hours * HOUR).toISOString(),
		bytes: 7,
	});

	it('an unfinished upload older than the limit is a warning; a younger one (still running) is not', () => {
		const old = one({ destinations: [destination('a', [{ ...base, unfinished: [unfinished(24.01)] }])] });
		expect(codes(old)).toEqual(['unfinished-set']);
		const young = one({ destinations: [destination('a', [{ ...base, unfinished: [unfinished(23.99)] }])] });
		expect(young.status).toBe('ok');
		expect(young.figures.unfinished).toMatchObject([{ destination: 'a', ageSeconds: Math.round(23.99 * 3600) }]);
	});

	it('an invalid set is a warning naming it', () => {
		const result = one({
			destinations: [destination('a', [{ ...base, invalid: [{ backupId: 'prod-x', reason: 'not JSON' }] }])],
		});
		expect(codes(result)).toEqual(['invalid-set']);
		expect(result.reasons[0].en).toBe('1 set has an invalid manifest on a: prod-x');
		expect(result.figures.invalid).toEqual([{ destination: 'a', backupId: 'prod-x', reason: 'not JSON' }]);
	});

	it('a lock not renewed for longer than its stale period is a warning; a live one is only a figure', () => {
		const lock = (minutes: number) => ({
			state: 'present' as const,
			owner: 'n8n-worker-2 (pid 42)',
			purpose: 'upload',
			renewedAt: ago(minutes * MIN).toISOString(),
			staleAfterMs: 10 * MIN,
		});
		const stale = one({ destinations: [destination('a', [{ ...base, lock: lock(10.1) }])] });
		expect(codes(stale)).toEqual(['stale-lock']);
		expect(stale.reasons[0].en).toMatch(
			/^Stale lock on a: n8n-worker-2 \(pid 42\) \(upload\) stopped renewing it 10 min ago/,
		);
		expect(stale.figures.staleLocks).toBe(1);
		const live = one({ destinations: [destination('a', [{ ...base, lock: lock(9.9) }])] });
		expect(live.status).toBe('ok');
		expect(live.figures.locks).toMatchObject([{ destination: 'a', stale: false, purpose: 'upload' }]);
	});

	it('an unreadable lock is a warning', () => {
		const result = one({ destinations: [destination('a', [{ ...base, lock: { state: 'unreadable' } }])] });
		expect(codes(result)).toEqual(['unreadable-lock']);
	});
});

describe('environments and ordering', () => {
	it('named environments are reported even when absent, others found are not', () => {
		const results = evaluate({
			destinations: [destination('a', [healthy(), { ...healthy(), environment: 'homolog' }])],
			environments: ['prod', 'dev'],
		});
		expect(results.map((r) => [r.environment, r.status])).toEqual([
			['prod', 'ok'],
			['dev', 'critical'],
		]);
	});

	it('critical reasons come before warnings', () => {
		const full = set('full', ago(30 * HOUR));
		const result = one({
			destinations: [destination('a', [env({ sets: [full], invalid: [{ backupId: 'prod-x', reason: 'bad' }] })])],
		});
		expect(result.reasons.map((r) => r.severity)).toEqual(['critical', 'warning', 'warning']);
		expect(codes(result)).toEqual(['stale-backup', 'invalid-set', 'never-restore-tested']);
		expect(monitorSummary(result, 'en')).toMatch(/^prod: CRITICAL: The newest full of postgres .* \(\+2 more\)\.$/);
		expect(monitorSummary(result, 'pt-BR')).toMatch(/^prod: CRÍTICO: O backup full mais recente .* \(\+2 outros\)\.$/);
	});
});

describe('thresholds', () => {
	it('defaults: 26 h for the newest full, 8 days for a passed restore test', () => {
		expect(resolveThresholds()).toEqual(DEFAULT_THRESHOLDS);
		expect(DEFAULT_THRESHOLDS.maxAgeHours.full).toBe(26);
		expect(DEFAULT_THRESHOLDS.maxRestoreTestAgeDays).toBe(8);
	});

	it('given values override, nonsense falls back to the default', () => {
		const t = resolveThresholds({
			maxAgeHours: { log: 1, full: -3 },
			minCopies: 2.7,
			trendLength: 0,
			sizeJumpPercent: Number.NaN,
		});
		expect(t.maxAgeHours).toEqual({ full: 26, differential: 0, incremental: 0, log: 1 });
		expect(t).toMatchObject({ minCopies: 2, trendLength: 2, sizeJumpPercent: 50 });
	});
});
