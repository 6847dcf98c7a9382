/** Injection tokens shared by every service. */
export const SERVICE_NAME = Symbol('SERVICE_NAME');
export const SERVICE_CONFIG = Symbol('SERVICE_CONFIG');
export const ROOT_LOGGER = Symbol('ROOT_LOGGER');
