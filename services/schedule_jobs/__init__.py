"""schedule-jobs: queue one ``IngestTask`` per location for the current schedule window."""
