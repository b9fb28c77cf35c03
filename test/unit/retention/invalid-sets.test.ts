/**
 * Issue 11, item 3: a set whose manifest is invalid is never pruned (it is not a set Prune
 * knows), and the sets whose chain needs it are kept rather than deleted as "chain broken" on
 * the strength of a manifest nobody could read.
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
const policy: RetentionPolicy = {
	keepLast: 1,
	keepDaily: 0,
	keepWeekly: 0,
	keepMonthly: 0,
	keepYearly: 0,
	minimumAgeDays: 0,
	unfinishedAfterHours: 24,
};
const now = new Date('2026-11-26T00:00:00Z');

it('keeps what needs an invalid set, and still deletes what the rules drop', () => {
	const sets = [
		set('old', 'full', '2026-10-01T02:00:00Z'),
		// 'bad' (a full of 2026-10-05) is on the destination, but its manifest is invalid
		set('i1', 'incremental', '2026-10-06T02:00:00Z', 'bad'),
		set('i2', 'incremental', '2026-10-07T02:00:00Z', 'i1'),
		set('new', 'full', '2026-11-20T02:00:00Z'),
	];
	const plan = planPrune(sets, [], policy, now, [{ environment: 'prod', backupId: 'bad', reason: 'invalid JSON' }]);
	expect(plan.sets.map((d) => [d.backupId, d.action, d.reasons.map((r) => r.rule).join('+')])).toEqual([
		['new', 'keep', 'newest-verified-full+last'],
		['i2', 'keep', 'needs-invalid-set'],
		['i1', 'keep', 'needs-invalid-set'],
		['old', 'delete', 'not-selected'],
	]);
	expect(plan.sets[1].reasons[0].text).toContain('bad');
	// Without knowing 'bad' exists, the same chain is broken and deleted (the behaviour for a set removed by hand).
	const blind = planPrune(sets, [], policy, now);
	expect(blind.sets.filter((d) => d.action === 'delete').map((d) => d.backupId)).toEqual(['i2', 'i1', 'old']);
});
