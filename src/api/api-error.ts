/** An error the HTTP edge answers with a status and a JSON reason. Never carries patient data. */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    reason: string,
  ) {
    super(reason);
    this.name = 'ApiError';
  }
}
