/** A FIFO of ids with O(1) push and shift. */
export class IdQueue {
  private items: string[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(id: string): void {
    this.items.push(id);
  }

  peek(): string | undefined {
    return this.items[this.head];
  }

  take(n: number): string[] {
    const out = this.items.slice(this.head, this.head + n);
    this.head += out.length;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return out;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}
