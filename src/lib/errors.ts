// Errors that reach API clients. Each carries the HTTP status Docker uses for
// the situation and Docker's wording, so that the docker CLI and SDKs that
// grep messages (compose, testcontainers) keep working.

export class EngineError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
    this.name = new.target.name;
  }
}

/** 400: the request itself is wrong (bad JSON, bad parameter value). */
export class InvalidParameterError extends EngineError {
  constructor(message: string) { super(400, message); }
}

/** 404: a container, image, exec or network that does not exist. */
export class NotFoundError extends EngineError {
  constructor(message: string) { super(404, message); }
}

/** 409: name in use, image in use, container running when it must not be. */
export class ConflictError extends EngineError {
  constructor(message: string) { super(409, message); }
}

/** 304: start of a started container, stop of a stopped one. */
export class NotModifiedError extends EngineError {
  constructor(message = 'not modified') { super(304, message); }
}

/** 500: the runtime or the system failed. */
export class SystemError extends EngineError {
  constructor(message: string) { super(500, message); }
}

export function noSuchContainer(ref: string): NotFoundError {
  return new NotFoundError(`No such container: ${ref}`);
}

export function noSuchImage(ref: string): NotFoundError {
  return new NotFoundError(`No such image: ${ref}`);
}
