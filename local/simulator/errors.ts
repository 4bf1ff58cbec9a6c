/**
 * A refusal the simulator can explain: the control API turns it into `{ error: { code, message } }`
 * with `status`, and in-process callers can branch on `code`.
 */
export class SimulatorError extends Error {
  override readonly name = 'SimulatorError';

  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}
