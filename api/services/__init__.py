"""What the routes do, without HTTP: experiments, sweeps and figures."""
