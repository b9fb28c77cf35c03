/** The restore report as HTML: every value escaped. */
import { restoreReportHtml } from '../../../core/restore-test/html-report';

describe('restoreReportHtml', () => {
	it('escapes every value', () => {
		const html = restoreReportHtml(
			{
				backupId: 'prod-1',
				passed: false,
				restoreMs: 1000,
				checksMs: 10,
				restoredBytes: 2048,
				database: 'totvs_rt_prod_1',
				kept: true,
				checks: [
					{
						name: 'tables',
						ok: false,
						expected: '<b>1</b>',
						actual: '"0" & \'x\'',
						message: '<script>alert(1)</script>',
					},
				],
			},
			'en',
		);
		expect(html).not.toContain('<script>');
		expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
		expect(html).toContain('&quot;0&quot; &amp; &#39;x&#39;');
		expect(html).toContain('totvs_rt_prod_1 (kept for investigation)');
		expect(html).toContain('FAILED');
	});

	const base = {
		passed: true,
		restoreMs: 61_000,
		checksMs: 1000,
		restoredBytes: 4096,
		kept: false,
		checks: [{ name: 'tree', ok: true, expected: 'all', actual: 'all', message: 'ok' }],
	};

	it('names a files set\'s restored folder "Files", in both languages, with the RTO', () => {
		const report = {
			...base,
			backupId: 'p12-20261126T020000Z-full-files',
			database: '/var/tmp/totvs_rt_p12',
			manifest: { engine: 'protheus-files' } as never,
		};
		const en = restoreReportHtml(report, 'en', false, 125_000);
		expect(en).toContain('Files (restored folder)');
		expect(en).not.toContain('>Database<');
		expect(en).toContain('Measured RTO');
		expect(en).toContain('2 min');
		expect(restoreReportHtml(report, 'pt-BR')).toContain('Arquivos (pasta restaurada)');
	});

	it("shows a restore point's database and folder", () => {
		const part = { ...base, backupId: 'x', database: 'totvs_rt_x' };
		const html = restoreReportHtml(
			{
				...base,
				backupId: 'prod-20261126T020000Z-rp-3fa9c1',
				database: 'totvs_rt_x',
				parts: { database: part, files: { ...part, database: '/tmp/totvs_rt_files' } },
			} as never,
			'pt-BR',
		);
		expect(html).toContain('Ponto de restauração');
		expect(html).toContain('>Banco<');
		expect(html).toContain('/tmp/totvs_rt_files');
	});
});
