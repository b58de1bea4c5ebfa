// Throwing away a response body the caller will not read (a 404, a redirect's page, the rest of an
// index once the wanted stanza is found): ending the iterator releases the connection for reuse.
// Its errors do not matter: nothing of it is kept.
import type { HttpResponse } from './types.js';

export async function discardBody(res: HttpResponse): Promise<void> {
  try {
    await res.body[Symbol.asyncIterator]().return?.();
  } catch {
    // thrown away
  }
}
