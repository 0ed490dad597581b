/* The subcommand groups of `otakit`; one file each (cmd_<group>.c). Each gets argv starting
 * at its group name and returns a CLI_EXIT_* code. */
#ifndef OTAKIT_COMMANDS_H
#define OTAKIT_COMMANDS_H

int cmd_partition(int argc, char **argv);
int cmd_image(int argc, char **argv);
int cmd_flash(int argc, char **argv);
int cmd_otadata(int argc, char **argv);
int cmd_ota(int argc, char **argv);
int cmd_device(int argc, char **argv);
int cmd_push(int argc, char **argv);
int cmd_service(int argc, char **argv);
/* otakit service sign|verify (cmd_service_sign.c); argv starts at "sign" or "verify". */
int cmd_service_sign(int argc, char **argv);

#endif
