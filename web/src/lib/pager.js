// Paging over an API list with opaque `next` tokens: remembers the tokens seen so "previous" works.
export class Pager {
  constructor() {
    this.reset();
  }

  reset() {
    this.tokens = [null]; // token that opens each visited page; page 1 opens with none
    this.index = 0;
    this.nextToken = null;
  }

  get current() {
    return this.tokens[this.index];
  }

  get pageNumber() {
    return this.index + 1;
  }

  get hasPrevious() {
    return this.index > 0;
  }

  get hasNext() {
    return typeof this.nextToken === "string" && this.nextToken !== "";
  }

  /** Record the `next` of the page just loaded. */
  loaded(nextToken) {
    this.nextToken = nextToken ?? null;
  }

  forward() {
    if (!this.hasNext) return false;
    this.tokens = this.tokens.slice(0, this.index + 1);
    this.tokens.push(this.nextToken);
    this.index += 1;
    this.nextToken = null;
    return true;
  }

  back() {
    if (!this.hasPrevious) return false;
    this.index -= 1;
    return true;
  }
}
