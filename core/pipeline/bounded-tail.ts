/**
 * Keeps the last `limit` bytes of a child's stderr: enough for the error message, without
 * memory growing with a verbose tool's output over a many-hour dump.
 */
export class BoundedTail {
	private chunks: Buffer[] = [];
	private size = 0;

	constructor(private readonly limit = 16 * 1024) {}

	push(chunk: Buffer) {
		this.chunks.push(chunk);
		this.size += chunk.length;
		while (this.size - this.chunks[0].length >= this.limit) this.size -= this.chunks.shift()!.length;
	}

	text(): string {
		return Buffer.concat(this.chunks).toString('utf8').slice(-this.limit).trim();
	}

	/** The last lines, for an error message. */
	lastLines(count = 5): string {
		return this.text().split('\n').slice(-count).join('\n');
	}
}
