/**
 * Prune's reasons in the item follow Summary Language: every reason carries its Portuguese text
 * beside the English one (issue 16: they stayed English under Português).
 */
import type { BackupType } from '../../../core/backup-set/manifest';
import { planPrune, type RetentionPolicy, type SetSummary } from '../../../core/retention/retention';

const set = (backupId: string, type: BackupType, startedAt: string, parent: string | null = null): SetSummary => ({
	environment: 'prod',
	backupId,
	component: 'database',
	type,
	baseBackupId: parent,
	parentBackupId: parent,
	startedAt,
	bytes: 100,
	verified: true,
});

it('every keep and delete reason has a Portuguese text', () => {
	const policy: RetentionPolicy = {
		keepLast: 1,
		keepDaily: 2,
		keepWeekly: 1,
		keepMonthly: 1,
		keepYearly: 1,
		minimumAgeDays: 2,
		unfinishedAfterHours: 24,
	};
	const plan = planPrune(
		[
			set('f0', 'full', '2026-09-01T02:00:00Z'),
			set('f1', 'full', '2026-10-01T02:00:00Z'),
			set('f2', 'full', '2026-11-20T02:00:00Z'),
			set('d1', 'differential', '2026-11-21T02:00:00Z', 'f2'),
			set('i1', 'incremental', '2026-11-25T02:00:00Z', 'f2'),
			{ ...set('bad', 'full', '2026-08-01T02:00:00Z'), verified: false },
		],
		[
			{ environment: 'prod', backupId: 'u1', modifiedAt: '2026-11-01T00:00:00Z', bytes: 1 },
			{ environment: 'prod', backupId: 'u2', modifiedAt: '2026-11-25T23:00:00Z', bytes: 1 },
		],
		policy,
		new Date('2026-11-26T00:00:00Z'),
	);
	const reasons = [...plan.sets.flatMap((d) => d.reasons), ...plan.unfinished.map((u) => u.reason)];
	const rules = new Set(reasons.map((r) => r.rule));
	for (const rule of [
		'minimum-age',
		'newest-verified-full',
		'last',
		'daily',
		'dependency',
		'damaged',
		'unfinished-stale',
		'unfinished-recent',
	])
		expect(rules).toContain(rule);
	for (const reason of reasons) {
		expect(reason.textPt).toEqual(expect.any(String));
		expect({ rule: reason.rule, same: reason.textPt === reason.text }).toEqual({ rule: reason.rule, same: false });
	}
});
