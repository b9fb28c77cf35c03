/**
 * The one-sentence `summary` field, read in Slack and email: one of a thing is singular ("1 set",
 * "1 backup"), a quick step takes "less than 1 s" rather than "0 s", in both summary languages
 * (issue 16).
 */
import type { PruneResult, UploadSetResult } from '../../../core/upload/set-transfer';
import { pruneSummary, uploadSummary } from '../../../nodes/TotvsUpload/summaries';
import { dumpSummary, failureSummary, restoreTestSummary, verifySummary } from '../../../nodes/shared/summary';

const prune = (deleteSets: number, deleteUnfinished: number, keepCount: number, dryRun: boolean) =>
	({
		dryRun,
		plan: {
			sets: Array.from({ length: deleteSets }, () => ({ action: 'delete' })),
			unfinished: Array.from({ length: deleteUnfinished }, () => ({ action: 'delete' })),
			keepCount,
			deleteBytes: 2048,
		},
	}) as unknown as PruneResult;

describe('summary wording', () => {
	it('Prune: one set, one folder, one kept', () => {
		expect(pruneSummary('prod', 'sftp://h/b', prune(1, 1, 1, true), 'en')).toBe(
			'Prune dry run for prod on sftp://h/b: would delete 1 set and 1 unfinished folder (2.0 KiB), keep 1.',
		);
		expect(pruneSummary('prod', 'sftp://h/b', prune(1, 0, 1, true), 'pt-BR')).toBe(
			'Simulação de limpeza de prod em sftp://h/b: apagaria 1 backup e 0 pastas incompletas (2,0 KiB), manteria 1.',
		);
		expect(pruneSummary('prod', 'sftp://h/b', prune(1, 1, 1, false), 'pt-BR')).toBe(
			'Limpeza de prod em sftp://h/b: 1 backup e 1 pasta incompleta apagados (2,0 KiB), 1 mantido.',
		);
		expect(pruneSummary('prod', 'sftp://h/b', prune(2, 0, 3, false), 'en')).toBe(
			'Pruned prod on sftp://h/b: deleted 2 sets and 0 unfinished folders (2.0 KiB), kept 3.',
		);
	});

	it('Upload: a sub-second upload', () => {
		const result = { destination: 'sftp://h/b', bytes: 10, verifiedBy: 'sha256', durationMs: 120 } as UploadSetResult;
		expect(uploadSummary('prod-1', result, 'en')).toContain('10 B in less than 1 s,');
		expect(uploadSummary('prod-1', result, 'pt-BR')).toContain('10 B em menos de 1 s,');
	});

	it('Dump: one table, one row, under a second', () => {
		const s = {
			backupId: 'prod-1',
			database: 'protheus',
			serverVersion: '16.4',
			tableCount: 1,
			rowCount: 1,
			totalBytes: 10,
			durationMs: 300,
		};
		expect(dumpSummary(s, 'en')).toContain('done: 1 table, 1 row, 10 B in less than 1 s.');
		expect(dumpSummary(s, 'pt-BR')).toContain('concluído: 1 tabela, 1 linha, 10 B em menos de 1 s.');
		expect(dumpSummary({ ...s, tableCount: 1234, rowCount: 0 }, 'pt-BR')).toContain('1.234 tabelas, 0 linhas');
	});

	it('Verify and Restore Test: one check', () => {
		const one = [{ name: 'artifacts', ok: true, message: 'ok' }];
		expect(verifySummary('prod-1', one, 'en')).toBe('Backup prod-1 verified: 1 check passed.');
		expect(verifySummary('prod-1', one, 'pt-BR')).toBe('Backup prod-1 verificado: 1 verificação OK.');
		const report = {
			backupId: 'prod-1',
			passed: true,
			restoreMs: 200,
			restoredBytes: 0,
			database: 'totvs_rt_x',
			kept: false,
			checks: one,
		};
		expect(restoreTestSummary(report, 'en')).toBe(
			'Restore test of backup prod-1 into totvs_rt_x PASSED: 1 check passed (less than 1 s).',
		);
		expect(restoreTestSummary(report, 'pt-BR')).toBe(
			'Teste de restauração do backup prod-1 no banco totvs_rt_x APROVADO: 1 verificação OK (menos de 1 s).',
		);
	});

	it('a failed item says in Portuguese what kind of failure it was, the error itself kept', () => {
		const message = 'password authentication failed for user "backup"';
		expect(failureSummary('TOTVS Dump', message, 'en', 'AUTH_FAILED')).toBe(`TOTVS Dump FAILED: ${message}`);
		expect(failureSummary('TOTVS Dump', message, 'pt-BR', 'AUTH_FAILED')).toBe(
			`FALHA em TOTVS Dump: autenticação recusada (${message})`,
		);
		expect(failureSummary('TOTVS Upload (upload)', 'No space left', 'pt-BR', 'DISK_FULL')).toBe(
			'FALHA em TOTVS Upload (upload): disco cheio (No space left)',
		);
		// Not one of ours (an n8n or system error): the message as it is
		expect(failureSummary('TOTVS Dump', 'boom', 'pt-BR')).toBe('FALHA em TOTVS Dump: boom');
	});
});
