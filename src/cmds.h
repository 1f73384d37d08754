/*
 * cmds.h - one entry point per subcommand (src/cmd_*.c), git's builtin style.
 * Each returns the process exit status (util.h's EXIT_*).
 */
#ifndef TRAWL_CMDS_H
#define TRAWL_CMDS_H

int cmd_init(int argc, char **argv);
int cmd_add(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_config(int argc, char **argv);
int cmd_sql(int argc, char **argv);
int cmd_retry(int argc, char **argv);
int cmd_reextract(int argc, char **argv);

/* Maps a 0/negative core result to an exit status. */
static inline int exit_status(int rc)
{
	return rc >= 0 ? 0 : -rc;
}

#endif
