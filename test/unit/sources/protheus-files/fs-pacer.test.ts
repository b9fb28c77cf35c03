import { FsPacer } from '../../../../core/sources/protheus-files/fs-pacer';

describe('FsPacer', () => {
	it('stays synchronous when a few calls of many were slow (a busy CPU, not a slow disk)', () => {
		const pacer = new FsPacer(20, 2, 8);
		for (let i = 0; i < 1000; i++) pacer.record(i % 100 === 0 ? 30 : 0.05);
		expect(pacer.slow).toBe(false);
	});

	it('goes asynchronous, for good, when many calls and a share of them are slow (a network share)', () => {
		const pacer = new FsPacer(20, 2, 8);
		for (let i = 0; i < 7; i++) pacer.record(5);
		expect(pacer.slow).toBe(false);
		pacer.record(5);
		expect(pacer.slow).toBe(true);
		for (let i = 0; i < 10_000; i++) pacer.record(0.01);
		expect(pacer.slow).toBe(true);
	});

	it('allows a large read its own time', () => {
		const pacer = new FsPacer(20, 2, 1);
		pacer.record(8, 1 << 20); // 1 MiB in 8 ms: a fast disk
		expect(pacer.slow).toBe(false);
		pacer.record(40, 1 << 20);
		expect(pacer.slow).toBe(true);
	});

	it('runs calls synchronously while fast, through the async path once slow', async () => {
		const pacer = new FsPacer(20, 2, 0); // slow from the start
		expect(
			await pacer.run(
				() => 'sync',
				async () => 'async',
			),
		).toBe('async');
		const fast = new FsPacer();
		expect(
			await fast.run(
				() => 'sync',
				async () => 'async',
			),
		).toBe('sync');
	});
});
