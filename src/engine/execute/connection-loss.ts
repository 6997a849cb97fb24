/** Errors after which the session is gone: the server has rolled back whatever was open. */
export function isConnectionLoss(error: unknown): boolean {
  const err = error as { code?: string; message?: string };
  if (err?.code && ['57P01', '57P02', '57P03', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT'].includes(err.code))
    return true;
  return /Connection terminated|connection is closed|Client has encountered a connection error|not queryable/i.test(
    err?.message ?? '',
  );
}
