export * from './backend-config';
export * from './terraform-state-backend';
export * from './terraform-state-backend-stack';
