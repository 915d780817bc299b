/* cp_plant: planted bugs for the simulator's self-test (controlplane/sim). Only its build
 * defines CP_SIM_PLANTS; everywhere else CP_PLANTED() is the constant 0 and the planted
 * branches are compiled out. Each names a bug the simulation must catch. */
#ifndef CP_PLANT_H
#define CP_PLANT_H

enum cp_plant {
	CP_PLANT_NONE = 0,
	CP_PLANT_EARLY_REPORT,  /* a holder reports a frame before its record is durable */
	CP_PLANT_REPORT_TWICE,  /* the leader counts one report as two holders */
	CP_PLANT_SKIP_FSYNC,    /* the payload log calls a record durable without syncing it */
	CP_PLANT_CAUSAL,        /* the order puts an event before its causal predecessor */
	CP_PLANT_RAFT_FSYNC,    /* the Raft log calls an append durable without syncing it */
	CP_PLANT_COUNT
};

#ifdef CP_SIM_PLANTS
extern enum cp_plant cp_planted;
#define CP_PLANTED(bug) (cp_planted == (bug))
#else
#define CP_PLANTED(bug) 0
#endif

#endif
