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
});
