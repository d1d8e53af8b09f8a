package emulate

func (c *Corpus) noise(opt *Options) {}
